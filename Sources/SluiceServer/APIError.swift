import Foundation
public import HTTPTypes
public import Hummingbird
import Logging
import NIOCore
import SluiceAPI

/// An API error: an HTTP status and `{"error": "…", "code": "…"}`. Everything a handler rejects is one
/// of these; `JSONErrorMiddleware` turns any other error (Hummingbird's own 404s and 413s included)
/// into one too, so a client always gets JSON.
public struct APIError: HTTPResponseError, Sendable {
    public let status: HTTPResponse.Status
    public let code: String
    public let message: String
    /// Headers the response carries besides the JSON ones (`Retry-After`).
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, code: String, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
    }

    /// Refusals of what the node will not take now or at all: the connection is closed after the response
    /// (`CloseAfterRefusal`), so a client cannot keep a refused body flowing or hold the slot.
    static let closingStatuses: Set<Int> = [408, 413, 429, 431, 503, 507]

    public static func badRequest(_ message: String) -> APIError { APIError(.badRequest, code: "bad_request", message) }
    public static func notFound(_ message: String) -> APIError { APIError(.notFound, code: "not_found", message) }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = jsonResponse(ErrorJSON(error: message, code: code), status: status)
        for field in headers { response.headers.append(field) }
        if Self.closingStatuses.contains(status.code) { response.headers[.connection] = "close" }
        return response
    }
}

/// Maps every error that escapes a handler to a JSON `APIError` response.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as HTTPError {
            switch error.status {
            case .notFound:
                throw APIError(
                    .notFound, code: "not_found",
                    "no route \(request.method) \(request.uri.path): see GET /openapi.json for the API")
            case .contentTooLarge:
                throw APIError(.contentTooLarge, code: "body_too_large", "the request body is too large")
            case .methodNotAllowed:
                throw APIError(.methodNotAllowed, code: "method_not_allowed", "\(request.method) is not allowed here")
            default:
                throw APIError(
                    error.status, code: error.status.code < 500 ? "bad_request" : "internal",
                    error.body ?? "\(error.status)")
            }
        } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, code: "body_too_large", "the request body is too large")
        } catch let error as any HTTPResponseError {
            throw APIError(
                error.status, code: error.status.code < 500 ? "bad_request" : "internal", "\(error.status)")
        } catch {
            context.logger.error("request failed: \(error)")
            throw APIError(.internalServerError, code: "internal", "internal error: \(error)")
        }
    }
}

/// Counts each request under its route template (after routing: unknown paths are not counted).
struct RequestCountMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: NodeMetrics
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        metrics.countRequest(route: "\(request.method) \(context.endpointPath ?? "unknown")")
        return try await next(request, context)
    }
}

/// A JSON response with the API's encoder.
func jsonResponse(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
    let data = (try? APIJSON.encoder().encode(value)) ?? Data("{}".utf8)
    return Response(
        status: status, headers: [.contentType: "application/json; charset=utf-8"],
        body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
}
