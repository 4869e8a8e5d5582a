import SluiceAPI
import SluiceCore
import SluiceState

// How the market commands show providers and jobs as text (with --json they print the API's JSON).

/// "0x1234abcd…9f0e": enough of an address or id to tell rows apart.
func shortHex(_ hash: Hash) -> String {
    let hex = hash.hex
    return hex.count > 16 ? "\(hex.prefix(10))…\(hex.suffix(4))" : hex
}

/// Prints rows under a header, each column as wide as its widest cell; the last column is not padded.
func printTable(_ header: [String], _ rows: [[String]]) {
    var widths = header.map(\.count)
    for row in rows {
        for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
    }
    for row in [header] + rows {
        let cells = row.enumerated().map { i, cell in
            i == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count)
        }
        print(cells.joined(separator: "  "))
    }
}

/// A provider's record, one field per line.
func printProvider(_ p: ProviderJSON) {
    print(
        """
        address:     \(p.address.hex)
        status:      \(p.status.name)
        price:       \(p.pricePerGpuHour) per GPU-hour
        capacity:    \(p.free) free of \(p.capacity) GPUs (\(p.busy) busy)
        devices:     \(p.devicesSummary)
        region:      \(p.region.isEmpty ? "-" : p.region)
        runners:     \(p.runners.map(\.name).joined(separator: ", "))
        endpoint:    \(p.endpoint.isEmpty ? "-" : p.endpoint)
        stake:       \(p.stake)
        reputation:  \(p.reputation) (\(p.jobsDone) done, \(p.jobsFailed) failed, \(p.jobsDisputed) disputed)
        uptime:      \(percent(p.uptimeBasisPoints)) (\(p.heartbeats) heartbeats, last at block \(p.lastHeartbeatHeight))
        live:        \(p.live ? "yes" : "no: no heartbeat within the market's timeout, so it is not matched (run its agent)")
        registered:  block \(p.registeredHeight)
        """)
    for proof in p.proofs {
        let model = proof.device < p.devices.count ? p.devices[proof.device].model : "device \(proof.device)"
        var line =
            "proof \(proof.device):     \(model): \(proof.status.name), round \(proof.round) (\(proof.size)×\(proof.size))"
        line += ", \(proof.passed) passed, \(proof.failed) failed"
        if proof.status == .pending { line += ", due at \(proof.deadline)" }
        if proof.verifiedHeight > 0 { line += ", last verified in block \(proof.verifiedHeight)" }
        print(line)
    }
}

/// A job's record, one field per line, then its assigned providers.
func printJob(_ j: JobJSON) {
    print(
        """
        id:          \(j.id.hex)
        status:      \(j.status.name)
        consumer:    \(j.consumer.hex)
        escrow:      \(j.escrow)
        spec:        \(j.specSummary)
        bundle:      \(j.spec.bundleHash.hex)\(j.spec.bundleUri.isEmpty ? "" : " at \(j.spec.bundleUri)")
        submitted:   block \(j.submitHeight)
        """)
    if let matched = j.matchedHeight { print("matched:     block \(matched)") }
    if j.assigned.isEmpty {
        print("assigned:    none")
    } else {
        print("assigned:")
        for a in j.assigned {
            var line = "  \(a.provider.hex) at \(a.pricePerGpuHour) per GPU-hour"
            if let r = a.result {
                line += "; result \(r.hex.prefix(18))…, \(a.usageSeconds ?? 0) s"
            } else if a.commitment != nil {
                line += "; committed"
            }
            if let paid = a.paid { line += ", paid \(paid)" }
            print(line)
        }
    }
    if !j.failedProviders.isEmpty {
        print("failed:      " + j.failedProviders.map(\.hex).joined(separator: ", "))
    }
    if let kind = j.auditKind {
        var line = "audit:       \(kind.name), round \(j.auditRound ?? 0)"
        if let auditor = j.auditor { line += ", auditor \(auditor.hex)" }
        if let r = j.auditResult { line += ", result \(r.hex.prefix(18))…" }
        if let paid = j.auditPaid { line += ", paid \(paid)" }
        print(line)
    }
    if let result = j.result { print("result:      \(result.hex)  (sluice job result \(j.id.hex))") }
}
