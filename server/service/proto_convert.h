#ifndef SERVER_SERVICE_PROTO_CONVERT_H_
#define SERVER_SERVICE_PROTO_CONVERT_H_

// Conversions between the mine.v1 API messages and the core's types. The
// proto enums use the core enums' numbers; unknown numbers (a newer client)
// are refused here, naming the field.
//
//   absl::StatusOr<mine::SessionConfig> config = mine::FromProto(request.config());
//   mine::ToProto(session->latest_estimate(), session->id(), &reply);

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "mine/v1/mine.pb.h"
#include "server/core/estimate.h"
#include "server/core/session.h"
#include "server/core/session_config.h"

namespace mine {

// The requested config as the core sees it (zeros still mean "default");
// InvalidArgument for an enum number the API does not define. Ranges are
// checked by the core when the session is created.
absl::StatusOr<SessionConfig> FromProto(const v1::SessionConfig& proto);

void ToProto(const SessionConfig& config, v1::SessionConfig* proto);
void ToProto(const AlertEvent& alert, v1::Alert* proto);
void ToProto(const Estimate& estimate, absl::string_view session_id, v1::Estimate* proto);
// Reads the session's status once, so counts and latest agree; the alert
// history is read after it (it may hold an alert of a newer estimate).
void ToProto(const Session& session, v1::Session* proto);
void ToProto(absl::Time time, google::protobuf::Timestamp* proto);

}  // namespace mine

#endif  // SERVER_SERVICE_PROTO_CONVERT_H_
