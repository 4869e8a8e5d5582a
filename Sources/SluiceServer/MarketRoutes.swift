import Hummingbird
import SluiceAPI
import SluiceCore
import SluiceNode
import SluiceRuntime
import SluiceState
import SluiceStorage

// The market's read routes (docs/MARKET.md): providers from the book, jobs from a scan of the job space.
// Everything here reads the latest committed state; lists carry the height of the block they were read
// at, read again when a block committed meanwhile (as `GET /v1/accounts/{address}` does), so a list
// never mixes two blocks. Records become JSON only through `ProviderJSON.init` and `JobJSON.init`.

extension APIServer {
    /// The default and the largest page of `GET /v1/market/jobs`.
    static let defaultJobPage = 100
    static let maxJobPage = 1000

    /// Adds `/v1/market/…` to the router (called by `router()`).
    func addMarketRoutes(to router: Router<APIRequestContext>) {
        let api = self
        router.get("/v1/market/providers") { _, _ in try api.providers() }
        router.get("/v1/market/providers/:address") { _, context in try api.provider(context) }
        router.get("/v1/market/providers/:address/jobs") { _, context in try api.providerJobs(context) }
        router.get("/v1/market/providers/:address/earnings") { _, context in try api.providerEarnings(context) }
        router.get("/v1/market/rewards/:address") { _, context in try api.rewards(context) }
        router.get("/v1/market/params") { _, _ in try api.marketParams() }
        router.get("/v1/market/jobs") { request, _ in try api.jobs(request) }
        router.get("/v1/market/jobs/:id") { _, context in try api.job(context) }
    }

    func marketParams() throws -> Response {
        let read = try atOneHeight { () throws(APIError) -> MarketParamsJSON in
            let params: MarketParameters
            if case .marketParameters(let p)? = try state(.marketParameters) {
                params = p
            } else {
                params = .default
            }
            var burned = Amount.zero
            if case .burned(let b)? = try state(.marketBurned) { burned = b }
            var emitted = Amount.zero
            if case .emitted(let e)? = try state(.marketEmitted) { emitted = e }
            return MarketParamsJSON(height: 0, params, burned: burned, emitted: emitted)
        }
        var value = read.value
        value.height = read.height
        return jsonResponse(value)
    }

    /// The market's parameters as stored at genesis (the defaults when none were).
    func storedMarketParameters() throws(APIError) -> MarketParameters {
        if case .marketParameters(let p)? = try state(.marketParameters) { return p }
        return .default
    }

    func providers() throws -> Response {
        let parameters = try storedMarketParameters()
        let list = try atOneHeight { () throws(APIError) -> [ProviderJSON] in
            guard case .book(let book)? = try state(.marketBook) else { return [] }
            let height = node.store.head?.height ?? 0
            var providers: [ProviderJSON] = []
            for address in book.providers {
                guard case .provider(let p)? = try state(.provider(address)) else { continue }
                providers.append(ProviderJSON(p, height: height, parameters: parameters))
            }
            return providers
        }
        return jsonResponse(ProviderListJSON(height: list.height, providers: list.value))
    }

    private func providerAddress(_ context: APIRequestContext) throws -> Address {
        let text = context.parameters.get("address") ?? ""
        do { return Address(try Hash(hex: text)) } catch {
            throw APIError.badRequest("'\(text)' is not an address: use 0x followed by 64 hex digits")
        }
    }

    /// The jobs under way (matched, committed or disputed) that a provider is assigned to or audits now,
    /// from the book's active jobs: what a provider's agent has to run, commit, reveal or report.
    func providerJobs(_ context: APIRequestContext) throws -> Response {
        let address = try providerAddress(context)
        let list = try atOneHeight { () throws(APIError) -> [JobJSON] in
            guard case .book(let book)? = try state(.marketBook) else { return [] }
            var jobs: [JobJSON] = []
            for active in book.activeJobs {
                guard case .job(let j)? = try state(.job(active.id)),
                    j.assigned.contains(where: { $0.provider == address }) || j.audit?.auditor == address
                else { continue }
                jobs.append(JobJSON(j))
            }
            return jobs
        }
        return jsonResponse(JobListJSON(height: list.height, jobs: list.value, next: nil))
    }

    func provider(_ context: APIRequestContext) throws -> Response {
        let address = try providerAddress(context)
        guard case .provider(let p)? = try state(.provider(address)) else {
            throw APIError.notFound(
                "\(address.hex) is not a registered provider: see GET /v1/market/providers for those that are")
        }
        return jsonResponse(
            ProviderJSON(p, height: node.store.head?.height ?? 0, parameters: try storedMarketParameters()))
    }

    /// `GET /v1/market/providers/{address}/earnings`: the address's income ledger (empty when it has none).
    func providerEarnings(_ context: APIRequestContext) throws -> Response {
        let address = try providerAddress(context)
        let read = try atOneHeight { () throws(APIError) -> IncomeLedger? in
            guard case .ledger(let l)? = try state(.ledger(address)) else { return nil }
            return l
        }
        return jsonResponse(EarningsJSON(height: read.height, address: address, read.value))
    }

    /// `GET /v1/market/rewards/{address}`: the address's emissions (zero when it has none).
    func rewards(_ context: APIRequestContext) throws -> Response {
        let address = try providerAddress(context)
        let params = try storedMarketParameters()
        let read = try atOneHeight { () throws(APIError) -> (RewardRecord?, ProviderRecord?) in
            var reward: RewardRecord? = nil
            if case .reward(let r)? = try state(.reward(address)) { reward = r }
            var provider: ProviderRecord? = nil
            if case .provider(let p)? = try state(.provider(address)) { provider = p }
            return (reward, provider)
        }
        return jsonResponse(
            RewardJSON(height: read.height, address: address, read.value.0, provider: read.value.1, params: params))
    }

    func jobs(_ request: Request) throws -> Response {
        let query = request.uri.queryParameters
        var status: JobRecord.Status? = nil
        if let text = query.get("status") {
            guard let s = JobRecord.Status.allCases.first(where: { $0.name == text }) else {
                let names = JobRecord.Status.allCases.map(\.name).joined(separator: ", ")
                throw APIError.badRequest("status '\(text)' is not a job status: use one of \(names)")
            }
            status = s
        }
        var limit = Self.defaultJobPage
        if let text = query.get("limit") {
            guard let n = Int(text), n >= 1, n <= Self.maxJobPage else {
                throw APIError.badRequest("limit '\(text)' is not a number from 1 to \(Self.maxJobPage)")
            }
            limit = n
        }
        var after: Hash? = nil
        if let text = query.get("after") {
            do { after = try Hash(hex: text) } catch {
                throw APIError.badRequest(
                    "after '\(text)' is not a job id: use 0x followed by 64 hex digits (the `next` of the previous page)"
                )
            }
        }
        let store = node.store
        // One more than the page: whether it exists says if there is a next page.
        let page = try atOneHeight { () throws(APIError) -> [JobJSON] in
            let found: [(key: StateKey, value: StateValue)]
            do throws(StorageError) {
                found = try store.values(in: .marketJob, limit: limit + 1, after: after) { value in
                    guard case .job(let j) = value else { return false }
                    return status == nil || j.status == status
                }
            } catch {
                throw APIError(.internalServerError, code: "internal", "cannot list jobs: \(error.message)")
            }
            return found.compactMap { entry in
                guard case .job(let j) = entry.value else { return nil }
                return JobJSON(j)
            }
        }
        var jobs = page.value
        var next: Hash? = nil
        if jobs.count > limit {
            jobs.removeLast(jobs.count - limit)
            next = jobs.last?.id
        }
        return jsonResponse(JobListJSON(height: page.height, jobs: jobs, next: next))
    }

    func job(_ context: APIRequestContext) throws -> Response {
        let text = context.parameters.get("id") ?? ""
        let id: Hash
        do { id = try Hash(hex: text) } catch {
            throw APIError.badRequest("'\(text)' is not a job id: use 0x followed by 64 hex digits")
        }
        guard case .job(let j)? = try state(.job(id)) else {
            throw APIError.notFound("no job \(id.hex): see GET /v1/market/jobs for the jobs there are")
        }
        return jsonResponse(JobJSON(j))
    }

    /// Runs `read` until the head did not move during it (at most three tries), and returns what it read
    /// with that head's height.
    private func atOneHeight<T>(_ read: () throws(APIError) -> T) throws(APIError) -> (height: UInt64, value: T) {
        var height = node.store.head?.height ?? 0
        var value = try read()
        for _ in 0..<3 {
            let after = node.store.head?.height ?? 0
            if after == height { break }
            height = after
            value = try read()
        }
        return (height, value)
    }
}
