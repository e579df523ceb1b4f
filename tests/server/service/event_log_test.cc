#include "server/service/event_log.h"

#include "gtest/gtest.h"
#include "server/service/core_event_reporter.h"

namespace mine {
namespace {

TEST(EventLogTest, TextQuotesOnlyValuesThatNeedIt) {
  EXPECT_EQ(EventLog::Render(EventLog::Format::kText, "session_created",
                             {{"session", "s1"}, {"config", "MINE x_dim=1"}}),
            "event=session_created session=s1 config=\"MINE x_dim=1\"");
}

TEST(EventLogTest, JsonEscapesQuotesAndControlCharacters) {
  EXPECT_EQ(EventLog::Render(EventLog::Format::kJson, "auth_refused",
                             {{"peer", "ipv4:1.2.3.4:5"}, {"reason", "a \"b\"\n\x01"}}),
            "{\"event\":\"auth_refused\",\"peer\":\"ipv4:1.2.3.4:5\","
            "\"reason\":\"a \\\"b\\\"\\n\\u0001\"}");
}

TEST(EventLogTest, AnAlertIsOneLineWithItsSessionRuleAndValues) {
  AlertEvent alert;
  alert.kind = AlertEvent::Kind::kChange;
  alert.mi_nats = 0.75;
  alert.reference_nats = 0.25;
  alert.samples_seen = 9000;
  alert.estimate_version = 42;
  alert.message = "MI moved from 0.25 to 0.75 nats";
  EXPECT_EQ(EventLog::Render(EventLog::Format::kText, "alert",
                             CoreEventReporter::AlertFields("s1", alert)),
            "event=alert session=s1 rule=change kind=change mi_nats=0.75 reference_nats=0.25 "
            "samples_seen=9000 estimate_version=42 message=\"MI moved from 0.25 to 0.75 nats\"");
}

TEST(EventLogTest, ParsesFormatNames) {
  EventLog::Format format;
  EXPECT_TRUE(EventLog::ParseFormat("json", &format));
  EXPECT_EQ(format, EventLog::Format::kJson);
  EXPECT_FALSE(EventLog::ParseFormat("xml", &format));
}

}  // namespace
}  // namespace mine
