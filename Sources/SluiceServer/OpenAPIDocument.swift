import SluiceAPI
import SluiceCore
import SluiceState

/// `GET /openapi.json`: the API described in OpenAPI 3.1. A test walks every path and operation here
/// against the router, and every schema against real responses, so the two cannot drift apart.
public enum OpenAPIDocument {
    public static var json: [UInt8] { Array(text.utf8) }

    static let hash = #"{"type": "string", "pattern": "^0x[0-9a-f]{64}$"}"#
    static let amount = #"{"type": "string", "pattern": "^[0-9]+$", "description": "decimal, up to 2^128-1"}"#
    static let u64 = #"{"type": "integer", "minimum": 0}"#
    // The names of each enum the API carries, from the enum itself, so the document follows new cases.
    static let eventKinds = quoted(Event.Kind.names)
    static let jobStatuses = quoted(JobStatus.names)
    static let payloadKinds = quoted(PayloadKind.names)
    static let runners = quoted(Runner.names)
    static let receiptStatuses = quoted(Receipt.Status.names)
    static let providerStatuses = quoted(ProviderRecord.Status.names)
    static let proofStatuses = quoted(DeviceProofJSON.Status.names)
    static let auditKinds = quoted(JobRecord.Audit.Kind.names)

    /// `"a", "b"`: names as the members of a JSON array.
    static func quoted(_ names: [String]) -> String { names.map { "\"\($0)\"" }.joined(separator: ", ") }

    static let errors = #"""
        "400": {"$ref": "#/components/responses/Error"},
        "404": {"$ref": "#/components/responses/Error"}
        """#

    public static let text = #"""
        {
          "openapi": "3.1.0",
          "info": {
            "title": "Sluice node API",
            "version": "\#(APIServer.version)",
            "description": "A Sluice node: submit signed transactions, read accounts, blocks, receipts and state proofs, follow committed blocks. Amounts are decimal strings; hashes and addresses 0x-prefixed hex. Every error is {\"error\", \"code\"}."
          },
          "servers": [{"url": "http://127.0.0.1:8645"}],
          "paths": {
            "/v1/transactions": {
              "post": {
                "operationId": "submitTransaction",
                "summary": "Submit one signed transaction to the mempool.",
                "requestBody": {"required": true, "content": {
                  "application/json": {"schema": {"$ref": "#/components/schemas/Transaction"}},
                  "application/vnd.sluice.tx": {"schema": {"type": "string", "format": "binary", "description": "the canonical encoding"}}
                }},
                "responses": {
                  "202": {"description": "accepted, pending", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SubmitResult"}}}},
                  "400": {"$ref": "#/components/responses/Error"},
                  "409": {"$ref": "#/components/responses/Error"},
                  "413": {"$ref": "#/components/responses/Error"},
                  "429": {"$ref": "#/components/responses/Error"},
                  "503": {"$ref": "#/components/responses/Error"}
                }
              }
            },
            "/v1/transactions/batch": {
              "post": {
                "operationId": "submitTransactions",
                "summary": "Submit many signed transactions; one result each, in order.",
                "requestBody": {"required": true, "content": {
                  "application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Transaction"}}},
                  "application/vnd.sluice.txs": {"schema": {"type": "string", "format": "binary", "description": "ULEB128 count, then the canonical encodings"}}
                }},
                "responses": {
                  "200": {"description": "per-transaction results", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BatchResult"}}}},
                  "400": {"$ref": "#/components/responses/Error"},
                  "413": {"$ref": "#/components/responses/Error"}
                }
              }
            },
            "/v1/transactions/{hash}": {
              "get": {
                "operationId": "getTransaction",
                "summary": "A transaction: pending in the mempool, or committed with its block and receipt.",
                "parameters": [{"name": "hash", "in": "path", "required": true, "schema": \#(hash)}],
                "responses": {
                  "200": {"description": "found", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TransactionStatus"}}}},
                  \#(errors)
                }
              }
            },
            "/v1/transactions/{hash}/proof": {
              "get": {
                "operationId": "getTransactionProof",
                "summary": "A committed transaction's receipt (with its events) and its Merkle path to the receipts root that the next block's header carries; verify it with sluice tx proof.",
                "parameters": [{"name": "hash", "in": "path", "required": true, "schema": \#(hash)}],
                "responses": {
                  "200": {"description": "the proof", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ReceiptProof"}}}},
                  \#(errors)
                }
              }
            },
            "/v1/blocks/{height}/receipts/{index}/proof": {
              "get": {
                "operationId": "getReceiptProof",
                "summary": "Entry index of a block's receipts (index = the block's transaction count: the block-end receipt, with the block-end step's events) and its Merkle path.",
                "parameters": [
                  {"name": "height", "in": "path", "required": true, "schema": \#(u64)},
                  {"name": "index", "in": "path", "required": true, "schema": \#(u64)}
                ],
                "responses": {
                  "200": {"description": "the proof", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ReceiptProof"}}}},
                  \#(errors)
                }
              }
            },
            "/v1/accounts/{address}": {
              "get": {
                "operationId": "getAccount",
                "summary": "An account's balance and sequence in the latest state, and its pending transactions.",
                "parameters": [{"name": "address", "in": "path", "required": true, "schema": \#(hash)}],
                "responses": {
                  "200": {"description": "the account (exists: false if never funded)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AccountInfo"}}}},
                  "400": {"$ref": "#/components/responses/Error"}
                }
              }
            },
            "/v1/blocks/{height}": {
              "get": {
                "operationId": "getBlock",
                "summary": "A block by height, hash, or latest.",
                "parameters": [
                  {"name": "height", "in": "path", "required": true, "schema": {"type": "string", "description": "a height, latest, or a block hash"}},
                  {"name": "full", "in": "query", "required": false, "schema": {"type": "boolean"}}
                ],
                "responses": {
                  "200": {"description": "the block", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Block"}}}},
                  \#(errors)
                }
              }
            },
            "/v1/state/proof/{key}": {
              "get": {
                "operationId": "getStateProof",
                "summary": "A state value (or its absence) with its Merkle proof against the state root.",
                "parameters": [
                  {"name": "key", "in": "path", "required": true, "schema": {"type": "string", "description": "an account address (0x + 64 hex) or an encoded state key (0x + 72 hex); one path segment"}},
                  {"name": "height", "in": "query", "required": false, "schema": \#(u64)}
                ],
                "responses": {
                  "200": {"description": "the proof", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/StateProof"}}}},
                  \#(errors)
                }
              }
            },
            "/v1/status": {
              "get": {
                "operationId": "getStatus",
                "summary": "The node: chain, head, mempool, throughput.",
                "responses": {
                  "200": {"description": "status", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Status"}}}}
                }
              }
            },
            "/v1/market/providers": {
              "get": {
                "operationId": "listProviders",
                "summary": "Every registered provider (from the market book), by address, with its ask and free capacity.",
                "responses": {
                  "200": {"description": "the providers", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ProviderList"}}}}
                }
              }
            },
            "/v1/market/providers/{address}": {
              "get": {
                "operationId": "getProvider",
                "summary": "One registered provider.",
                "parameters": [{"name": "address", "in": "path", "required": true, "schema": \#(hash)}],
                "responses": {
                  "200": {"description": "the provider", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Provider"}}}},
                  \#(errors)
                }
              }
            },
            "/v1/market/params": {
              "get": {
                "operationId": "getMarketParams",
                "summary": "The market's parameters (set at genesis) and the total burned by dishonest slashes.",
                "responses": {
                  "200": {"description": "the parameters", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/MarketParams"}}}}
                }
              }
            },
            "/v1/market/providers/{address}/earnings": {
              "get": {
                "operationId": "getProviderEarnings",
                "summary": "The address's income ledger: the last job payments, audit payments, shares of slashes, emissions and slashes (newest last, at most 128 kept) and totals over all of them.",
                "parameters": [{"name": "address", "in": "path", "required": true, "schema": \#(hash)}],
                "responses": {
                  "200": {"description": "the ledger", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Earnings"}}}},
                  "400": {"$ref": "#/components/responses/Error"}
                }
              }
            },
            "/v1/market/rewards/{address}": {
              "get": {
                "operationId": "getRewards",
                "summary": "The address's emissions: unclaimed (what reward.claim moves to the balance), earned, claimed, and its verified GPU-seconds in the current epoch.",
                "parameters": [{"name": "address", "in": "path", "required": true, "schema": \#(hash)}],
                "responses": {
                  "200": {"description": "the rewards", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Rewards"}}}},
                  "400": {"$ref": "#/components/responses/Error"}
                }
              }
            },
            "/v1/market/providers/{address}/jobs": {
              "get": {
                "operationId": "getProviderJobs",
                "summary": "The jobs under way (matched, committed or disputed) a provider is assigned to or audits now: what its agent has to run, commit, reveal or report.",
                "parameters": [{"name": "address", "in": "path", "required": true, "schema": \#(hash)}],
                "responses": {
                  "200": {"description": "the jobs", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/JobList"}}}},
                  "400": {"$ref": "#/components/responses/Error"}
                }
              }
            },
            "/v1/blobs": {
              "post": {
                "operationId": "putBlob",
                "summary": "Stores a job bundle or result by its SHA-256; with X-Sluice-Sha256 (or ?sha256=) the bytes must hash to it. The body streams to disk; a few uploads run at once (503 uploads_busy with Retry-After beyond them: send a Content-Length so a small blob is counted at its size). A blob no job on chain names expires an hour after its upload; a job's blobs are kept until it settles plus a retention period. Refusals (408, 413, 503, 507) close the connection.",
                "parameters": [
                  {"name": "X-Sluice-Sha256", "in": "header", "required": false, "schema": \#(hash)},
                  {"name": "sha256", "in": "query", "required": false, "schema": \#(hash)},
                  {"name": "X-Sluice-Job", "in": "header", "required": false, "schema": \#(hash), "description": "the job under way (matched, committed, disputed) the blob is a result or logs of: counted against the whole blob space instead of the part for blobs no job names"},
                  {"name": "job", "in": "query", "required": false, "schema": \#(hash)}
                ],
                "requestBody": {"required": true, "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
                "responses": {
                  "201": {"description": "stored", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Blob"}}}},
                  "400": {"$ref": "#/components/responses/Error"},
                  "404": {"$ref": "#/components/responses/Error"},
                  "408": {"$ref": "#/components/responses/Error"},
                  "409": {"$ref": "#/components/responses/Error"},
                  "413": {"$ref": "#/components/responses/Error"},
                  "503": {"description": "no blobs kept here (no_blobs), or too many uploads or bytes in flight (uploads_busy)", "headers": {"Retry-After": {"schema": {"type": "integer"}}}, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                  "507": {"$ref": "#/components/responses/Error"}
                }
              }
            },
            "/v1/blobs/{hash}": {
              "get": {
                "operationId": "getBlob",
                "summary": "A blob's bytes; the client checks them against the hash it asked for.",
                "parameters": [{"name": "hash", "in": "path", "required": true, "schema": \#(hash)}],
                "responses": {
                  "200": {"description": "the bytes", "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
                  "500": {"$ref": "#/components/responses/Error"},
                  "503": {"$ref": "#/components/responses/Error"},
                  \#(errors)
                }
              }
            },
            "/v1/market/jobs": {
              "get": {
                "operationId": "listJobs",
                "summary": "One page of jobs by id, optionally only those in one state; follow `next` with `after` for the next page.",
                "parameters": [
                  {"name": "status", "in": "query", "required": false, "schema": {"type": "string", "enum": [\#(jobStatuses)]}},
                  {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}},
                  {"name": "after", "in": "query", "required": false, "schema": \#(hash), "description": "list the jobs whose id comes after this one (the previous page's next)"}
                ],
                "responses": {
                  "200": {"description": "the page", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/JobList"}}}},
                  "400": {"$ref": "#/components/responses/Error"}
                }
              }
            },
            "/v1/market/jobs/{id}": {
              "get": {
                "operationId": "getJob",
                "summary": "One job: its state, escrow, spec and assigned providers.",
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": \#(hash)}],
                "responses": {
                  "200": {"description": "the job", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Job"}}}},
                  \#(errors)
                }
              }
            },
            "/v1/events": {
              "get": {
                "operationId": "events",
                "summary": "WebSocket: one BlockEvent text message per committed block, with its receipts' events and its block-end events, optionally filtered by account, job, provider and kind (all given must hold), optionally starting from a stored height.",
                "parameters": [
                  {"name": "account", "in": "query", "required": false, "schema": \#(hash), "description": "only what concerns this address"},
                  {"name": "job", "in": "query", "required": false, "schema": \#(hash), "description": "only events about this job"},
                  {"name": "provider", "in": "query", "required": false, "schema": \#(hash), "description": "only events about this provider"},
                  {"name": "kind", "in": "query", "required": false, "schema": {"type": "string", "enum": [\#(eventKinds)]}, "description": "only events of this kind"},
                  {"name": "from", "in": "query", "required": false, "schema": \#(u64), "description": "replay stored blocks from this height first (at most 100,000 back)"}
                ],
                "responses": {
                  "101": {"description": "switching to WebSocket; messages are BlockEvent (large ones fragmented in 16 kB frames). A subscriber whose unsent events pass its memory budget is closed with 1008, or 1013 when all subscribers' together pass the node's: reconnect with ?from= the height after the last one seen", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BlockEvent"}}}},
                  "400": {"$ref": "#/components/responses/Error"}
                }
              }
            },
            "/metrics": {
              "get": {
                "operationId": "metrics",
                "summary": "Prometheus metrics: height, tx/s, mempool size, re-executions, block time histogram.",
                "responses": {"200": {"description": "Prometheus text format", "content": {"text/plain": {"schema": {"type": "string"}}}}}
              }
            },
            "/openapi.json": {
              "get": {
                "operationId": "openapi",
                "summary": "This document.",
                "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}}}
              }
            }
          },
          "components": {
            "responses": {
              "Error": {"description": "an error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            },
            "schemas": {
              "MarketParams": {"type": "object", "additionalProperties": false, "required": ["height", "minimumStake", "openJobBlocks", "unbondingBlocks", "commitGraceSeconds", "revealWindowSeconds", "feeBasisPoints", "missedDeadlineSlashBasisPoints", "auditProbabilityBasisPoints", "dishonestSlashBasisPoints", "slashBurnBasisPoints", "slashAuditorBasisPoints", "slashConsumerBasisPoints", "maxAuditRounds", "auditGraceSeconds", "disputeBond", "disputeWindowSeconds", "proofIntervalSeconds", "proofWindowSeconds", "proofTargetMilliseconds", "burned", "emissionPerEpoch", "epochBlocks", "providerShareBasisPoints", "uptimeSlotBlocks", "heartbeatTimeoutBlocks", "emitted"], "properties": {
                "height": \#(u64), "minimumStake": \#(amount), "openJobBlocks": \#(u64), "unbondingBlocks": \#(u64),
                "commitGraceSeconds": \#(u64), "revealWindowSeconds": \#(u64), "feeBasisPoints": \#(u64),
                "missedDeadlineSlashBasisPoints": \#(u64), "auditProbabilityBasisPoints": \#(u64), "dishonestSlashBasisPoints": \#(u64),
                "slashBurnBasisPoints": \#(u64), "slashAuditorBasisPoints": \#(u64), "slashConsumerBasisPoints": \#(u64),
                "maxAuditRounds": \#(u64), "auditGraceSeconds": \#(u64), "disputeBond": \#(amount), "disputeWindowSeconds": \#(u64),
                "proofIntervalSeconds": \#(u64), "proofWindowSeconds": \#(u64), "proofTargetMilliseconds": \#(u64),
                "burned": \#(amount), "emissionPerEpoch": \#(amount), "epochBlocks": \#(u64),
                "providerShareBasisPoints": \#(u64), "uptimeSlotBlocks": \#(u64), "heartbeatTimeoutBlocks": \#(u64), "emitted": \#(amount)
              }},
              "Rewards": {"type": "object", "additionalProperties": false, "required": ["height", "address", "unclaimed", "earned", "claimed", "epoch", "epochEndHeight", "epochGpuSeconds"], "properties": {
                "height": \#(u64), "address": \#(hash), "unclaimed": \#(amount), "earned": \#(amount), "claimed": \#(amount),
                "epoch": \#(u64), "epochEndHeight": \#(u64), "epochGpuSeconds": \#(u64)
              }},
              "Earnings": {"type": "object", "additionalProperties": false, "required": ["height", "address", "count", "totals", "rows"], "properties": {
                "height": \#(u64), "address": \#(hash), "count": \#(u64),
                "totals": {"type": "object", "additionalProperties": \#(amount)},
                "rows": {"type": "array", "items": {"type": "object", "additionalProperties": false, "required": ["index", "height", "kind", "amount", "fee"], "properties": {
                  "index": \#(u64), "height": \#(u64), "kind": {"type": "string", "enum": ["job-pay", "audit-pay", "slash-share", "emission", "slash"]},
                  "job": \#(hash), "amount": \#(amount), "fee": \#(amount)
                }}}
              }},
              "Blob": {"type": "object", "required": ["hash", "size"], "additionalProperties": false, "properties": {
                "hash": \#(hash), "size": {"type": "integer", "minimum": 0}
              }},
              "Error": {"type": "object", "required": ["error", "code"], "additionalProperties": false, "properties": {
                "error": {"type": "string"},
                "code": {"type": "string", "enum": ["bad_request", "not_found", "body_too_large", "method_not_allowed", "internal", "bad_signature", "wrong_chain", "expired", "oversized", "gas_limit_too_low", "gas_price_too_low", "unknown_sender", "sequence_too_old", "sequence_too_far_ahead", "fee_unpayable", "duplicate", "underpriced", "sender_limit", "mempool_full", "hash_mismatch", "no_blobs", "blobs_full", "blob_damaged", "uploads_busy", "timeout", "job_not_running", "headers_too_large", "undecodable", "invalid_payload"]}
              }},
              "Payload": {"type": "object", "required": ["type"], "additionalProperties": false, "properties": {
                "type": {"type": "string", "enum": [\#(payloadKinds)]},
                "to": \#(hash), "amount": \#(amount), "rounds": {"type": "integer", "minimum": 0},
                "offer": {"$ref": "#/components/schemas/ProviderOffer"},
                "job": {"$ref": "#/components/schemas/JobSpec"},
                "jobId": \#(hash), "commitment": \#(hash), "result": \#(hash), "salt": \#(hash), "usageSeconds": \#(u64), "logs": \#(hash),
                "update": {"type": "object", "required": ["devices", "pricePerGpuHour"], "additionalProperties": false, "properties": {
                  "devices": {"type": "array", "items": {"type": "object", "required": ["model", "vramGb", "count", "score"], "additionalProperties": false, "properties": {
                    "model": {"type": "string"}, "vramGb": {"type": "integer", "minimum": 0}, "count": {"type": "integer", "minimum": 0}, "score": \#(u64), "pricePerGpuHour": \#(amount)
                  }}},
                  "pricePerGpuHour": \#(amount)
                }},
                "answer": {"type": "object", "required": ["device", "root", "openings"], "additionalProperties": false, "properties": {
                  "device": {"type": "integer", "minimum": 0, "maximum": 255}, "root": \#(hash),
                  "openings": {"type": "array", "items": {"type": "object", "required": ["leaf", "values", "path"], "additionalProperties": false, "properties": {
                    "leaf": \#(u64), "values": {"type": "array", "items": {"type": "integer", "minimum": 0}}, "path": {"type": "array", "items": \#(hash)}
                  }}}
                }}
              }, "description": "transfer and compute-transfer: to, amount (+ rounds); provider.register: offer; job.submit: job; job.cancel: jobId; job.commit: jobId, commitment; job.reveal: jobId, result, salt, usageSeconds (+ logs); audit.report: jobId, result, usageSeconds (+ logs); job.dispute: jobId; provider.prove: answer"},
              "ProviderOffer": {"type": "object", "required": ["devices", "region", "endpoint", "stake", "pricePerGpuHour"], "additionalProperties": false, "properties": {
                "runners": {"type": "array", "items": {"type": "string", "enum": [\#(runners)]}},
                "devices": {"type": "array", "items": {"type": "object", "required": ["model", "vramGb", "count", "score"], "additionalProperties": false, "properties": {
                  "model": {"type": "string"}, "vramGb": {"type": "integer", "minimum": 0}, "count": {"type": "integer", "minimum": 0}, "score": \#(u64), "pricePerGpuHour": \#(amount)
                }}},
                "region": {"type": "string"}, "endpoint": {"type": "string"}, "stake": \#(amount), "pricePerGpuHour": \#(amount)
              }},
              "JobSpec": {"type": "object", "required": ["runner", "bundleHash", "bundleUri", "inputsHash", "gpuCount", "minVramGb", "model", "maxDurationSeconds", "maxPricePerGpuHour", "redundancy", "verification"], "additionalProperties": false, "properties": {
                "runner": {"type": "string", "enum": [\#(runners)]}, "bundleHash": \#(hash), "bundleUri": {"type": "string"},
                "inputsHash": \#(hash), "gpuCount": {"type": "integer", "minimum": 1}, "minVramGb": {"type": "integer", "minimum": 0},
                "model": {"type": "string"}, "maxDurationSeconds": \#(u64), "maxPricePerGpuHour": \#(amount),
                "redundancy": {"type": "integer", "minimum": 1, "maximum": 16}, "verification": {"type": "integer", "minimum": 0}
              }},
              "Authenticator": {"type": "object", "required": ["scheme", "publicKey", "signature"], "additionalProperties": false, "properties": {
                "scheme": {"type": "string", "enum": ["ed25519", "ml-dsa-65"]},
                "publicKey": {"type": "string"}, "signature": {"type": "string"}
              }},
              "Transaction": {"type": "object", "required": ["sender", "sequence", "gasLimit", "gasPrice", "payload"], "additionalProperties": false, "properties": {
                "chainId": \#(u64), "sender": \#(hash), "sequence": \#(u64), "gasLimit": \#(u64), "gasPrice": \#(u64),
                "expiry": \#(u64), "payload": {"$ref": "#/components/schemas/Payload"},
                "authenticator": {"$ref": "#/components/schemas/Authenticator"}
              }},
              "Receipt": {"type": "object", "required": ["index", "transactionHash", "status", "gasUsed", "fee", "events"], "additionalProperties": false, "properties": {
                "index": {"type": "integer"}, "transactionHash": \#(hash),
                "status": {"type": "string", "enum": [\#(receiptStatuses)]},
                "gasUsed": \#(u64), "fee": \#(amount), "error": {"type": "string"}, "output": \#(hash),
                "events": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}}
              }},
              "ReceiptProof": {"type": "object", "required": ["height", "index", "leafCount", "entry", "path", "header", "headerHash"], "additionalProperties": false, "properties": {
                "height": \#(u64), "index": {"type": "integer", "minimum": 0}, "leafCount": {"type": "integer", "minimum": 1},
                "entry": {"type": "string", "description": "the entry's canonical bytes, hex"}, "path": {"type": "array", "items": \#(hash)},
                "receipt": {"$ref": "#/components/schemas/Receipt"}, "blockEvents": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}},
                "header": {"type": "string", "description": "block height+1's header, canonical bytes, hex"}, "headerHash": \#(hash)
              }},
              "Event": {"type": "object", "required": ["kind"], "additionalProperties": false, "description": "a typed event; the fields present depend on its kind", "properties": {
                "kind": {"type": "string", "enum": [\#(eventKinds)]},
                "from": \#(hash), "to": \#(hash), "account": \#(hash), "provider": \#(hash), "consumer": \#(hash), "auditor": \#(hash),
                "job": \#(hash), "amount": \#(amount), "fee": \#(amount), "stake": \#(amount), "escrow": \#(amount), "refund": \#(amount),
                "status": {"type": "string", "enum": [\#(jobStatuses)]}, "providers": {"type": "array", "items": \#(hash)},
                "payouts": {"type": "array", "items": {"type": "object", "required": ["provider", "amount"], "additionalProperties": false, "properties": {"provider": \#(hash), "amount": \#(amount)}}},
                "result": \#(hash), "device": {"type": "integer", "minimum": 0}, "round": \#(u64)
              }},
              "SubmitResult": {"type": "object", "required": ["hash", "accepted", "status"], "additionalProperties": false, "properties": {
                "hash": \#(hash), "accepted": {"type": "boolean"}, "status": {"type": "string", "enum": ["pending", "rejected"]},
                "code": {"type": "string"}, "error": {"type": "string"}
              }},
              "BatchResult": {"type": "object", "required": ["accepted", "rejected", "results"], "additionalProperties": false, "properties": {
                "accepted": {"type": "integer"}, "rejected": {"type": "integer"},
                "results": {"type": "array", "items": {"$ref": "#/components/schemas/SubmitResult"}}
              }},
              "TransactionStatus": {"type": "object", "required": ["hash", "status"], "additionalProperties": false, "properties": {
                "hash": \#(hash), "status": {"type": "string", "enum": ["pending", "committed"]},
                "transaction": {"$ref": "#/components/schemas/Transaction"}, "blockHeight": \#(u64), "index": \#(u64),
                "receipt": {"$ref": "#/components/schemas/Receipt"}
              }},
              "AccountInfo": {"type": "object", "required": ["address", "balance", "sequence", "exists", "height", "pending", "nextSequence"], "additionalProperties": false, "properties": {
                "address": \#(hash), "balance": \#(amount), "sequence": \#(u64), "exists": {"type": "boolean"},
                "height": \#(u64), "pending": {"type": "integer"}, "nextSequence": \#(u64)
              }},
              "Block": {"type": "object", "required": ["height", "hash", "chainId", "parentHash", "timestamp", "proposer", "transactionsRoot", "parentStateRoot", "version", "round", "parentReceiptsRoot", "parentCertificate", "stateRoot", "transactionCount", "transactionHashes"], "additionalProperties": false, "properties": {
                "height": \#(u64), "hash": \#(hash), "chainId": \#(u64), "parentHash": \#(hash), "timestamp": \#(u64),
                "proposer": \#(hash), "transactionsRoot": \#(hash), "parentStateRoot": \#(hash), "stateRoot": \#(hash),
                "version": {"type": "integer", "enum": [2]}, "round": \#(u64), "parentReceiptsRoot": \#(hash), "parentCertificate": \#(hash),
                "transactionCount": {"type": "integer"}, "transactionHashes": {"type": "array", "items": \#(hash)},
                "transactions": {"type": "array", "items": {"$ref": "#/components/schemas/Transaction"}},
                "receipts": {"type": "array", "items": {"$ref": "#/components/schemas/Receipt"}}
              }},
              "StateProof": {"type": "object", "required": ["key", "keyBytes", "height", "root", "proof"], "additionalProperties": false, "properties": {
                "key": {"type": "string"}, "keyBytes": {"type": "string"}, "height": \#(u64), "root": \#(hash),
                "value": {"type": "object", "properties": {"type": {"type": "string"}, "balance": \#(amount), "sequence": \#(u64), "hex": {"type": "string"}}},
                "valueHash": \#(hash), "proof": {"type": "object", "description": "the Merkle siblings and the leaf found, see sluice state verify"}
              }},
              "Status": {"type": "object", "required": ["version", "chainId", "height", "headHash", "stateRoot", "headTimestamp", "mempoolSize", "mempoolSenders", "transactionsPerSecond", "committedTransactions", "blockTimeMillis", "maxBlockSize", "uptimeSeconds"], "additionalProperties": false, "properties": {
                "version": {"type": "string"}, "chainId": \#(u64), "height": \#(u64), "headHash": \#(hash), "stateRoot": \#(hash),
                "headTimestamp": \#(u64), "mempoolSize": {"type": "integer"}, "mempoolSenders": {"type": "integer"},
                "transactionsPerSecond": {"type": "number"}, "committedTransactions": \#(u64), "blockTimeMillis": {"type": "integer"},
                "maxBlockSize": {"type": "integer"}, "uptimeSeconds": {"type": "number"},
                "consensus": {"$ref": "#/components/schemas/ConsensusStatus"}
              }},
              "ConsensusStatus": {"type": "object", "description": "this validator's view of consensus; absent on a node that orders blocks alone", "required": ["validator", "epoch", "round", "committedHeight", "validators", "connectedPeers", "droppedMessages", "evidence"], "additionalProperties": false, "properties": {
                "validator": {"type": "integer"}, "epoch": \#(u64), "round": \#(u64), "committedHeight": \#(u64),
                "validators": {"type": "integer"}, "connectedPeers": {"type": "array", "items": {"type": "integer"}},
                "droppedMessages": {"type": "integer"}, "evidence": {"type": "integer"}
              }},
              "EventReceipt": {"type": "object", "required": ["index", "transactionHash", "sender", "status", "fee", "events"], "additionalProperties": false, "properties": {
                "index": {"type": "integer"}, "transactionHash": \#(hash), "sender": \#(hash), "to": \#(hash),
                "status": {"type": "string", "enum": [\#(receiptStatuses)]}, "fee": \#(amount), "error": {"type": "string"},
                "events": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}}
              }},
              "BlockEvent": {"type": "object", "required": ["type", "height", "hash", "timestamp", "stateRoot", "receiptsRoot", "transactionCount", "receipts", "blockEvents"], "additionalProperties": false, "properties": {
                "type": {"type": "string", "enum": ["block"]}, "height": \#(u64), "hash": \#(hash), "timestamp": \#(u64),
                "stateRoot": \#(hash), "receiptsRoot": \#(hash), "transactionCount": {"type": "integer"},
                "receipts": {"type": "array", "items": {"$ref": "#/components/schemas/EventReceipt"}},
                "blockEvents": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}}
              }},
              "Provider": {"type": "object", "required": ["address", "status", "devices", "region", "runners", "endpoint", "stake", "pricePerGpuHour", "capacity", "busy", "free", "reputation", "jobsDone", "jobsFailed", "jobsDisputed", "registeredHeight", "lastHeartbeatHeight", "heartbeats", "uptimeBasisPoints", "live", "proofs", "busyByDevice"], "additionalProperties": false, "properties": {
                "proofs": {"type": "array", "description": "proof of GPU, one entry per device class", "items": {"type": "object", "required": ["device", "status", "eligible", "round", "seed", "size", "deadline", "passed", "failed", "verifiedHeight"], "additionalProperties": false, "properties": {
                  "device": {"type": "integer", "minimum": 0}, "status": {"type": "string", "enum": [\#(proofStatuses)]},
                  "eligible": {"type": "boolean"}, "round": \#(u64), "seed": \#(hash), "size": \#(u64), "deadline": \#(u64),
                  "passed": \#(u64), "failed": \#(u64), "verifiedHeight": \#(u64)
                }}},
                "address": \#(hash), "status": {"type": "string", "enum": [\#(providerStatuses)]},
                "runners": {"type": "array", "items": {"type": "string", "enum": [\#(runners)]}},
                "lastHeartbeatHeight": \#(u64), "heartbeats": \#(u64), "unbondHeight": \#(u64),
                "uptimeBasisPoints": {"type": "integer", "minimum": 0, "maximum": 10000, "description": "share of the last 64 uptime slots with a heartbeat"},
                "live": {"type": "boolean", "description": "false once it has sent no heartbeat for heartbeatTimeoutBlocks: matching and audit draws skip it"},
                "devices": {"type": "array", "items": {"type": "object", "required": ["model", "vramGb", "count", "score"], "additionalProperties": false, "properties": {
                  "model": {"type": "string"}, "vramGb": {"type": "integer", "minimum": 0}, "count": {"type": "integer", "minimum": 0}, "score": \#(u64), "pricePerGpuHour": \#(amount)
                }}},
                "region": {"type": "string"}, "endpoint": {"type": "string"},
                "stake": \#(amount), "pricePerGpuHour": \#(amount),
                "capacity": {"type": "integer", "minimum": 0, "description": "GPUs offered"},
                "busy": {"type": "integer", "minimum": 0, "description": "GPUs taken by matched jobs"},
                "busyByDevice": {"type": "array", "items": {"type": "integer", "minimum": 0}, "description": "GPUs taken per device class (same order as devices)"},
                "free": {"type": "integer", "minimum": 0, "description": "GPUs left to match"},
                "reputation": {"type": "integer", "description": "done - 2 x failed - 3 x disputed"},
                "jobsDone": {"type": "integer", "minimum": 0}, "jobsFailed": {"type": "integer", "minimum": 0},
                "jobsDisputed": {"type": "integer", "minimum": 0}, "registeredHeight": \#(u64)
              }},
              "ProviderList": {"type": "object", "required": ["height", "providers"], "additionalProperties": false, "properties": {
                "height": \#(u64), "providers": {"type": "array", "items": {"$ref": "#/components/schemas/Provider"}}
              }},
              "Job": {"type": "object", "required": ["id", "consumer", "status", "spec", "escrow", "submitHeight", "assigned", "failedProviders"], "additionalProperties": false, "properties": {
                "id": \#(hash), "consumer": \#(hash), "status": {"type": "string", "enum": [\#(jobStatuses)]},
                "spec": {"$ref": "#/components/schemas/JobSpec"}, "escrow": \#(amount),
                "submitHeight": \#(u64), "matchedHeight": \#(u64), "deadline": \#(u64), "result": \#(hash),
                "failedProviders": {"type": "array", "items": \#(hash)},
                "settledAt": \#(u64), "auditKind": {"type": "string", "enum": [\#(auditKinds)]},
                "auditRound": {"type": "integer", "minimum": 0}, "auditor": \#(hash), "auditDevice": {"type": "integer", "minimum": 0}, "auditPricePerGpuHour": \#(amount),
                "auditResult": \#(hash), "auditUsageSeconds": \#(u64), "auditLogs": \#(hash), "auditPaid": \#(amount),
                "assigned": {"type": "array", "items": {"type": "object", "required": ["provider", "device", "pricePerGpuHour"], "additionalProperties": false, "properties": {
                  "provider": \#(hash), "device": {"type": "integer", "minimum": 0, "description": "the provider's device class it runs on"}, "pricePerGpuHour": \#(amount), "commitment": \#(hash), "result": \#(hash),
                  "usageSeconds": \#(u64), "paid": \#(amount), "logs": \#(hash)
                }}}
              }},
              "JobList": {"type": "object", "required": ["height", "jobs"], "additionalProperties": false, "properties": {
                "height": \#(u64), "jobs": {"type": "array", "items": {"$ref": "#/components/schemas/Job"}},
                "next": \#(hash)
              }}
            }
          }
        }
        """#
}
