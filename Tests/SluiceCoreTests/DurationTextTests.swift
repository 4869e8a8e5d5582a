import SluiceCore
import Testing

@Suite struct DurationTextTests {
    @Test(
        arguments: [
            ("90", 90_000), ("1.5", 1500), ("90s", 90_000), ("5m", 300_000), ("1h", 3_600_000), ("1h30m", 5_400_000),
            ("2h5m10s", 7_510_000), (" 2m ", 120_000), ("250ms", 250), ("1.5s", 1500), ("1s500ms", 1500),
            ("1.5h", 5_400_000), ("0.25s", 250), ("0s", 0),
        ] as [(String, Int64)])
    func reads(text: String, millis: Int64) {
        #expect(DurationText.parse(text) == .milliseconds(millis))
    }

    @Test(
        arguments: [
            "", "m", "s", ".5s", "5.s", "1.2.3s", "30m1h", "1h1h", "1ms1s", "5 m", "1h 30m", "-5s", "+5s", "1e3s",
            "5d", "5S", "１s", "1h30", "99999999999999999999s", "876001h", "0x10s",
        ])
    func refuses(text: String) {
        #expect(DurationText.parse(text) == nil, "\(text)")
    }

    @Test func writesWhatItReads() {
        var rng = SplitMix64(seed: 7)
        for _ in 0..<2000 {
            let millis = Int64(rng.next() % (400 * 3_600_000))
            let text = DurationText.format(.milliseconds(millis))
            #expect(DurationText.parse(text) == .milliseconds(millis), "\(millis) ms written as \(text)")
        }
        #expect(DurationText.format(.milliseconds(5_400_000)) == "1h30m")
        #expect(DurationText.format(.milliseconds(1500)) == "1s500ms")
        #expect(DurationText.format(.milliseconds(250)) == "250ms")
        #expect(DurationText.format(.zero) == "0s")
    }

    @Test func wholeSeconds() {
        #expect(DurationText.parse("1h30m").flatMap(DurationText.wholeSeconds) == 5400)
        #expect(DurationText.parse("5ms").flatMap(DurationText.wholeSeconds) == nil)
    }
}
