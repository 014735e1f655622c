#include "orders/storage_error.hpp"

#include <spdlog/spdlog.h>

namespace ordergate::orders {

bool storage_unreachable(Status status) {
    return status == Status::Unavailable || status == Status::Timeout ||
           status == Status::UnknownOutcome || status == Status::RateLimited;
}

namespace {

Error internal(std::string_view request_id) {
    return Error::make(ErrorCode::Internal,
                       request_id.empty()
                           ? std::string("internal error; quote this response's request_id")
                           : "internal error; quote request id " + std::string(request_id));
}

}  // namespace

Error storage_error(const sdk::Error& failure, StorageAccess access, std::string_view op,
                    std::string_view request_id) {
    const Status status = failure.status();
    const bool read = access == StorageAccess::Read;
    Error e;
    if (storage_unreachable(status)) {
        e = Error::make(ErrorCode::StorageUnavailable, "order storage is unavailable");
        e.retry_after_seconds = 1;
    } else if (read && status == Status::InvalidArgument) {
        e = Error::make(ErrorCode::InvalidParameter,
                        "a query parameter or the cursor is not valid for this list");
    } else if (read && status == Status::NotFound) {
        e = Error::make(ErrorCode::NotFound, "not found");
    } else if (read && status == Status::Conflict) {
        e = Error::make(ErrorCode::Conflict, "changed concurrently; read it again and retry");
    } else {
        e = internal(request_id);
    }
    if (e.code == ErrorCode::InvalidParameter || e.code == ErrorCode::NotFound ||
        e.code == ErrorCode::Conflict)
        spdlog::warn("event=storage_refused op={} request_id={} status={} code={} error=\"{}\"", op,
                     request_id, to_string(status), code_name(e.code), failure.what());
    else
        spdlog::error("event=storage_failed op={} request_id={} status={} code={} error=\"{}\"", op,
                      request_id, to_string(status), code_name(e.code), failure.what());
    return e;
}

Error storage_error(const std::exception& failure, StorageAccess access, std::string_view op,
                    std::string_view request_id) {
    if (const auto* se = dynamic_cast<const sdk::Error*>(&failure))
        return storage_error(*se, access, op, request_id);
    spdlog::error("event=storage_failed op={} request_id={} status=exception error=\"{}\"", op,
                  request_id, failure.what());
    return internal(request_id);
}

}  // namespace ordergate::orders
