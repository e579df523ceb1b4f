// create, get, list, delete, estimate, watch, health.
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/cli/command_support.h"
#include "client/cli/commands.h"
#include "client/cli/exit_codes.h"
#include "client/health_checker.h"

namespace mine::cli {
namespace {

// "" and a usage error printed when the command needs a session id.
bool RequireSession(const CommandContext& context, std::string* id, int* exit_code) {
  *id = SessionIdArg(context);
  if (id->empty()) {
    *exit_code = UsageError(context.command, "give a session id: --session ID or as argument");
    return false;
  }
  return true;
}

}  // namespace

int RunCreate(const CommandContext& context) {
  absl::StatusOr<v1::SessionConfig> config = ConfigFromFlags(context);
  if (!config.ok()) return UsageError(context.command, std::string(config.status().message()));
  absl::StatusOr<v1::Session> session =
      MakeClient(context)->CreateSession(context.flags->String("session"), *config);
  if (!session.ok()) return ReportError(session.status(), context.target);
  context.out->PrintSession(*session);
  return kExitOk;
}

int RunGet(const CommandContext& context) {
  std::string id;
  int code = 0;
  if (!RequireSession(context, &id, &code)) return code;
  absl::StatusOr<v1::Session> session = MakeClient(context)->GetSession(id);
  if (!session.ok()) return ReportError(session.status(), context.target);
  context.out->PrintSession(*session);
  return kExitOk;
}

int RunList(const CommandContext& context) {
  absl::StatusOr<std::vector<v1::Session>> sessions = MakeClient(context)->ListAllSessions();
  if (!sessions.ok()) return ReportError(sessions.status(), context.target);
  for (const v1::Session& session : *sessions) context.out->PrintSession(session);
  return kExitOk;
}

int RunDelete(const CommandContext& context) {
  std::string id;
  int code = 0;
  if (!RequireSession(context, &id, &code)) return code;
  absl::Status status = MakeClient(context)->DeleteSession(id);
  if (!status.ok()) return ReportError(status, context.target);
  return kExitOk;
}

int RunEstimate(const CommandContext& context) {
  std::string id;
  int code = 0;
  if (!RequireSession(context, &id, &code)) return code;
  absl::StatusOr<double> wait = context.flags->Double("wait-converged", 0);
  if (!wait.ok()) return UsageError(context.command, std::string(wait.status().message()));
  std::unique_ptr<MineClient> client = MakeClient(context);
  const absl::Time deadline = absl::Now() + absl::Seconds(*wait);
  absl::StatusOr<v1::Estimate> estimate = client->GetEstimate(id);
  while (estimate.ok() && estimate->state() != v1::CONVERGED && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(250));
    estimate = client->GetEstimate(id);
  }
  if (!estimate.ok()) return ReportError(estimate.status(), context.target);
  context.out->PrintEstimate(*estimate);
  return kExitOk;
}

int RunWatch(const CommandContext& context) {
  std::string id;
  int code = 0;
  if (!RequireSession(context, &id, &code)) return code;
  absl::StatusOr<int64_t> interval = context.flags->Int("interval-ms", 500);
  absl::StatusOr<int64_t> count = context.flags->Int("count", 0);
  if (!interval.ok() || !count.ok() || *interval < 0 || *count < 0) {
    return UsageError(context.command, "--interval-ms and --count must be integers >= 0");
  }
  const bool until_alert = context.flags->Bool("until-alert");
  int64_t seen = 0;
  absl::Status status = MakeClient(context)->Watch(
      id, absl::Milliseconds(*interval), [&](const v1::Estimate& estimate) {
        context.out->PrintEstimate(estimate);
        for (const v1::Alert& alert : estimate.alerts()) context.out->PrintAlert(id, alert);
        if (until_alert && estimate.alerts_size() > 0) return false;
        return *count == 0 || ++seen < *count;
      });
  if (!status.ok()) return ReportError(status, context.target);
  return kExitOk;
}

int RunHealth(const CommandContext& context) {
  const std::string service = context.flags->String("service");
  HealthChecker health(context.channel);
  absl::StatusOr<std::string> status = health.Check(service, context.timeout);
  if (!status.ok()) return ReportError(status.status(), context.target);
  context.out->PrintHealth(service, *status);
  return *status == "SERVING" ? kExitOk : kExitServer;
}

}  // namespace mine::cli
