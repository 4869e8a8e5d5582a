public import SluiceAPI
public import SluiceCore

// The market's read routes (`/v1/market/…`). Submitting market transactions goes through `submit(_:)`
// like any other transaction.

extension SluiceClient {
    /// `GET /v1/market/providers`: every registered provider, by address.
    public func providers() async throws(ClientError) -> ProviderListJSON {
        try await get("/v1/market/providers", as: ProviderListJSON.self)
    }

    /// `GET /v1/market/providers/{address}`: a provider, or nil when the address is not registered.
    public func provider(_ address: Address) async throws(ClientError) -> ProviderJSON? {
        try await get("/v1/market/providers/\(address.hex)", as: ProviderJSON.self, nilOnNotFound: true)
    }

    /// `GET /v1/market/jobs`: one page of jobs by id, only those in `status` when given (open, matched,
    /// cancelled, expired). `limit` is 1 to 1000 (the node's default: 100); pass the page's `next` as
    /// `after` for the next page.
    public func jobs(status: String? = nil, limit: Int? = nil, after: Hash? = nil) async throws(ClientError)
        -> JobListJSON
    {
        var query: [String] = []
        if let status {
            guard status.allSatisfy({ $0.isLetter || $0 == "_" || $0 == "-" }) else {
                throw ClientError("status '\(status)' is not a job status: use open, matched, cancelled or expired")
            }
            query.append("status=\(status)")
        }
        if let limit { query.append("limit=\(limit)") }
        if let after { query.append("after=\(after.hex)") }
        let path = "/v1/market/jobs" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
        return try await get(path, as: JobListJSON.self)
    }

    /// `GET /v1/market/jobs/{id}`: a job, or nil when there is none with that id.
    public func job(_ id: Hash) async throws(ClientError) -> JobJSON? {
        try await get("/v1/market/jobs/\(id.hex)", as: JobJSON.self, nilOnNotFound: true)
    }

    /// `GET /v1/market/rewards/{address}`: the address's emissions (zero when it has none).
    public func rewards(_ address: Address) async throws(ClientError) -> RewardJSON {
        try await get("/v1/market/rewards/\(address.hex)", as: RewardJSON.self)
    }

    /// `GET /v1/market/providers/{address}/earnings`: the address's income ledger.
    public func earnings(_ address: Address) async throws(ClientError) -> EarningsJSON {
        try await get("/v1/market/providers/\(address.hex)/earnings", as: EarningsJSON.self)
    }
}
