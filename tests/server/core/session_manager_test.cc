#include "server/core/session_manager.h"

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "client/synthetic_data.h"
#include "gtest/gtest.h"
#include "tests/support/small_session_config.h"
#include "tests/support/status_matchers.h"

namespace mine {
namespace {

SessionConfig Small(int dim = 1) { return SmallSessionConfig(dim); }

SessionManagerOptions Options(int workers = 2, int max_sessions = 100) {
  SessionManagerOptions o;
  o.workers = workers;
  o.max_sessions = max_sessions;
  o.session.steps_per_slice = 10;
  return o;
}

TEST(SessionManagerTest, GeneratesAnIdWhenNoneIsGiven) {
  SessionManager m(Options());
  auto a = m.Create("", Small());
  auto b = m.Create("", Small());
  ASSERT_OK(a);
  ASSERT_OK(b);
  EXPECT_OK(ValidateSessionId((*a)->id()));
  EXPECT_NE((*a)->id(), (*b)->id());
}

TEST(SessionManagerTest, CreateIsIdempotentForTheSameEffectiveConfig) {
  SessionManager m(Options());
  auto first = m.Create("s", Small());
  ASSERT_OK(first);
  // Spelling out the defaults is the same config as leaving them zero.
  auto again = m.Create("s", (*first)->config());
  ASSERT_OK(again);
  EXPECT_EQ(first->get(), again->get());
  EXPECT_EQ(m.session_count(), 1);
}

TEST(SessionManagerTest, CreateWithADifferentConfigIsAlreadyExists) {
  SessionManager m(Options());
  ASSERT_OK(m.Create("s", Small()));
  SessionConfig other = Small();
  other.batch_size = 64;
  EXPECT_STATUS_CODE(m.Create("s", other), absl::StatusCode::kAlreadyExists);
}

TEST(SessionManagerTest, RejectsBadIdsWithoutEchoingThemWhole) {
  SessionManager m(Options());
  const std::string long_id(10000, 'a');
  for (const std::string& id : {long_id, std::string("a b"), std::string("s\xc3\xa9"),
                                std::string("x/y")}) {
    auto s = m.Create(id, Small());
    EXPECT_STATUS_CODE(s, absl::StatusCode::kInvalidArgument);
    EXPECT_LT(s.status().message().size(), 200u);
  }
  EXPECT_STATUS_CODE(m.Get(""), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(m.session_count(), 0);
}

TEST(SessionManagerTest, InvalidConfigIsInvalidArgument) {
  SessionManager m(Options());
  SessionConfig bad = Small();
  bad.x_dim = 0;
  EXPECT_STATUS_CODE(m.Create("s", bad), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(m.session_count(), 0);
}

TEST(SessionManagerTest, UnknownSessionIsNotFound) {
  SessionManager m(Options());
  EXPECT_STATUS_CODE(m.Get("nope"), absl::StatusCode::kNotFound);
  EXPECT_STATUS_CODE(m.Delete("nope"), absl::StatusCode::kNotFound);
}

TEST(SessionManagerTest, ListsInIdOrderOnePageAtATime) {
  SessionManager m(Options());
  for (const char* id : {"c", "a", "e", "b", "d"}) ASSERT_OK(m.Create(id, Small()));
  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    auto page = m.List(2, token);
    ASSERT_OK(page);
    for (auto& s : page->sessions) seen.push_back(s->id());
    token = page->next_page_token;
    ++pages;
  } while (!token.empty());
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b", "c", "d", "e"}));
  EXPECT_EQ(pages, 3);
  EXPECT_STATUS_CODE(m.List(-1, ""), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS_CODE(m.List(10, "bad token!"), absl::StatusCode::kInvalidArgument);
}

TEST(SessionManagerTest, DeleteClosesTheSessionAndEndsItsWatchers) {
  SessionManager m(Options());
  auto s = m.Create("s", Small());
  ASSERT_OK(s);
  bool closed = false;
  (*s)->Subscribe([](const Estimate&) {}, [&] { closed = true; });
  ASSERT_OK(m.Delete("s"));
  EXPECT_TRUE(closed);
  EXPECT_TRUE((*s)->closed());
  EXPECT_STATUS_CODE(m.Get("s"), absl::StatusCode::kNotFound);
}

TEST(SessionManagerTest, RefusesSessionsPastTheLimit) {
  SessionManager m(Options(1, 2));
  ASSERT_OK(m.Create("a", Small()));
  ASSERT_OK(m.Create("b", Small()));
  EXPECT_STATUS_CODE(m.Create("c", Small()), absl::StatusCode::kResourceExhausted);
  ASSERT_OK(m.Delete("a"));
  EXPECT_OK(m.Create("c", Small()));
}

TEST(SessionManagerTest, RefusesWindowsBeyondTheMemoryBudget) {
  SessionManagerOptions options = Options();
  options.session.max_pending_values = 1000;
  // Small(): window 2048 rows of 1 + 1 values, twice (raw and quantile-
  // normalised), plus the queue: 9192 values; room for two sessions.
  options.max_total_values = 20000;
  SessionManager m(options);
  ASSERT_OK(m.Create("a", Small()));
  ASSERT_OK(m.Create("b", Small()));
  auto c = m.Create("c", Small());
  EXPECT_STATUS_CODE(c, absl::StatusCode::kResourceExhausted);
  EXPECT_NE(c.status().message().find("window_size"), std::string::npos);
  ASSERT_OK(m.Delete("a"));
  EXPECT_OK(m.Create("c", Small()));
}

// Several sessions streaming at once on the pool: each gets trained, none
// starves, and (under ThreadSanitizer, see docs/DEVELOPING.md) none races.
TEST(SessionManagerTest, ConcurrentSessionsAllTrainOnThePool) {
  SessionManager m(Options(2));
  constexpr int kSessions = 4;
  std::vector<std::shared_ptr<Session>> sessions;
  for (int i = 0; i < kSessions; ++i) {
    auto s = m.Create("s" + std::to_string(i), Small(2));
    ASSERT_OK(s);
    sessions.push_back(*s);
  }
  std::vector<std::thread> writers;
  for (int i = 0; i < kSessions; ++i) {
    writers.emplace_back([&, i] {
      CorrelatedGaussian data(2, 0.8, Transform::kNone, i + 1);
      for (int b = 0; b < 20; ++b) {
        std::vector<float> x, z;
        data.Fill(100, &x, &z);
        absl::StatusOr<IngestResult> r = sessions[i]->Ingest(x, z);
        while (absl::IsResourceExhausted(r.status())) {
          absl::SleepFor(absl::Milliseconds(5));
          r = sessions[i]->Ingest(x, z);
        }
        EXPECT_OK(r);
      }
    });
  }
  for (auto& w : writers) w.join();
  for (auto& s : sessions) {
    EXPECT_TRUE(s->WaitForEstimate(2000, absl::Seconds(120))) << s->id();
    EXPECT_EQ(s->status().samples_seen, 2000);
  }
  // Every session keeps getting slices until it converges.
  for (auto& s : sessions) {
    const absl::Time deadline = absl::Now() + absl::Seconds(120);
    while (s->status().train_steps < 100 && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(20));
    }
    EXPECT_GE(s->status().train_steps, 100) << s->id();
  }
}

}  // namespace
}  // namespace mine
