#include "server/service/event_log.h"

#include "gtest/gtest.h"

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

TEST(EventLogTest, ParsesFormatNames) {
  EventLog::Format format;
  EXPECT_TRUE(EventLog::ParseFormat("json", &format));
  EXPECT_EQ(format, EventLog::Format::kJson);
  EXPECT_FALSE(EventLog::ParseFormat("xml", &format));
}

}  // namespace
}  // namespace mine
