#include "server/core/lease_guard.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace mine {

LeaseGuard::LeaseGuard(std::string session_id, absl::Time deadline, LeaseClock clock)
    : session_id_(std::move(session_id)), clock_(std::move(clock)), deadline_(deadline) {}

void LeaseGuard::Extend(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  if (state_ != State::kLost) deadline_ = std::max(deadline_, deadline);
}

void LeaseGuard::BeginHandoff(const std::string& to) {
  absl::MutexLock lock(&mu_);
  if (state_ != State::kHeld) return;
  state_ = State::kHandingOff;
  moving_to_ = to;
}

void LeaseGuard::Lose(const std::string& to) {
  absl::MutexLock lock(&mu_);
  if (state_ != State::kLost && !to.empty()) moving_to_ = to;
  state_ = State::kLost;
}

void LeaseGuard::CheckDeadline() const {
  if (state_ != State::kLost && clock_() >= deadline_) state_ = State::kLost;
}

absl::Status LeaseGuard::Refusal() const {
  return absl::UnavailableError(absl::StrCat(
      "session '", session_id_, "' is moving to ",
      moving_to_.empty() ? "another replica" : absl::StrCat("replica ", moving_to_),
      state_ == State::kLost ? " (this replica's lease ran out)" : "", "; retry"));
}

absl::Status LeaseGuard::MayAppend() const {
  absl::MutexLock lock(&mu_);
  CheckDeadline();
  return state_ == State::kHeld ? absl::OkStatus() : Refusal();
}

absl::Status LeaseGuard::MayWrite() const {
  absl::MutexLock lock(&mu_);
  CheckDeadline();
  return state_ != State::kLost ? absl::OkStatus() : Refusal();
}

bool LeaseGuard::lost() const {
  absl::MutexLock lock(&mu_);
  CheckDeadline();
  return state_ == State::kLost;
}

}  // namespace mine
