import Testing
@testable import SluiceServer
@Test func placeholderBuilds() {}
