// TokenStore parsing, reloading and constant-time comparison, and
// TenantRegistry's token bucket with explicit times (no sleeping).
#include "server/service/token_store.h"

#include <cstdio>
#include <fstream>
#include <string>

#include "gtest/gtest.h"
#include "server/service/tenant_registry.h"
#include "tests/support/status_matchers.h"

namespace mine {
namespace {

std::string WriteFile(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

TEST(TokenStoreTest, OpenStoreAcceptsEveryCallerAsTheEmptyTenant) {
  absl::StatusOr<std::unique_ptr<TokenStore>> store = TokenStore::Load("");
  ASSERT_OK(store);
  EXPECT_TRUE((*store)->open());
  absl::StatusOr<std::string> tenant = (*store)->Authenticate("");
  ASSERT_OK(tenant);
  EXPECT_EQ(*tenant, "");
}

TEST(TokenStoreTest, MapsTokensToTenantsAndRefusesOthers) {
  const std::string path = WriteFile(
      "tokens_a", "# comment\n\naaaaaaaaaaaaaaaaaaaa acme\nbbbbbbbbbbbbbbbbbbbb  globex\n");
  absl::StatusOr<std::unique_ptr<TokenStore>> store = TokenStore::Load(path);
  ASSERT_OK(store);
  EXPECT_EQ((*store)->size(), 2);
  absl::StatusOr<std::string> tenant = (*store)->Authenticate("Bearer bbbbbbbbbbbbbbbbbbbb");
  ASSERT_OK(tenant);
  EXPECT_EQ(*tenant, "globex");
  EXPECT_STATUS_CODE((*store)->Authenticate(""), absl::StatusCode::kUnauthenticated);
  EXPECT_STATUS_CODE((*store)->Authenticate("Basic aaaaaaaaaaaaaaaaaaaa"),
                     absl::StatusCode::kUnauthenticated);
  absl::StatusOr<std::string> wrong = (*store)->Authenticate("Bearer aaaaaaaaaaaaaaaaaaab");
  EXPECT_STATUS_CODE(wrong, absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(wrong.status().message().find("aaaa"), absl::string_view::npos)
      << "a token must never appear in a message";
}

TEST(TokenStoreTest, ParseNamesTheBadLineWithoutTheToken) {
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> parsed =
      TokenStore::Parse("aaaaaaaaaaaaaaaaaaaa acme\nshort-secret acme\n");
  EXPECT_STATUS_CODE(parsed, absl::StatusCode::kInvalidArgument);
  EXPECT_NE(parsed.status().message().find("line 2"), absl::string_view::npos);
  EXPECT_EQ(parsed.status().message().find("short-secret"), absl::string_view::npos);
  EXPECT_STATUS_CODE(TokenStore::Parse("aaaaaaaaaaaaaaaaaaaa\n"),
                     absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS_CODE(TokenStore::Parse("aaaaaaaaaaaaaaaaaaaa x\naaaaaaaaaaaaaaaaaaaa y\n"),
                     absl::StatusCode::kInvalidArgument);
}

TEST(TokenStoreTest, ReloadSwapsTokensAndKeepsTheOldOnesOnError) {
  const std::string path = WriteFile("tokens_b", "aaaaaaaaaaaaaaaaaaaa acme\n");
  absl::StatusOr<std::unique_ptr<TokenStore>> store = TokenStore::Load(path);
  ASSERT_OK(store);
  WriteFile("tokens_b", "cccccccccccccccccccc acme\n");
  ASSERT_OK((*store)->Reload());
  EXPECT_STATUS_CODE((*store)->Authenticate("Bearer aaaaaaaaaaaaaaaaaaaa"),
                     absl::StatusCode::kUnauthenticated);
  EXPECT_OK((*store)->Authenticate("Bearer cccccccccccccccccccc"));
  WriteFile("tokens_b", "broken\n");
  EXPECT_STATUS_CODE((*store)->Reload(), absl::StatusCode::kInvalidArgument);
  EXPECT_OK((*store)->Authenticate("Bearer cccccccccccccccccccc"));
}

TEST(TokenStoreTest, ConstantTimeEqualsComparesWholeStrings) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", absl::string_view("abc\0", 4)));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
  EXPECT_FALSE(ConstantTimeEquals("", "a"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
}

TEST(TenantRegistryTest, TokenBucketRefillsAtTheQuotaRate) {
  SessionManagerOptions options;
  options.workers = 1;
  SessionManager manager(options);
  TenantRegistry tenants(&manager, TenantQuota{0, 100}, /*enforce=*/true);
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  EXPECT_OK(tenants.AdmitRows("acme", 60, t0));
  EXPECT_STATUS_CODE(tenants.AdmitRows("acme", 60, t0), absl::StatusCode::kResourceExhausted);
  EXPECT_OK(tenants.AdmitRows("globex", 60, t0)) << "each tenant has its own bucket";
  EXPECT_OK(tenants.AdmitRows("acme", 60, t0 + absl::Milliseconds(200)));  // 40 + 20
  // A batch above the burst passes on a full bucket and leaves it in debt.
  EXPECT_OK(tenants.AdmitRows("acme", 500, t0 + absl::Seconds(10)));
  EXPECT_STATUS_CODE(tenants.AdmitRows("acme", 1, t0 + absl::Seconds(13)),
                     absl::StatusCode::kResourceExhausted);
  EXPECT_OK(tenants.AdmitRows("acme", 1, t0 + absl::Seconds(15)));
}

}  // namespace
}  // namespace mine
