#include "server/service/tenant_registry.h"

#include <filesystem>
#include <string>

#include "gtest/gtest.h"
#include "server/core/session_manager.h"
#include "tests/support/status_matchers.h"

namespace mine {
namespace {

SessionConfig Small() {
  SessionConfig c;
  c.x_dim = 1;
  c.z_dim = 1;
  c.hidden_units = {8};
  c.batch_size = 16;
  c.window_size = 512;
  return c;
}

class TenantRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("tenant_registry_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    owners_ = (dir_ / "owners").string();
    SessionManagerOptions options;
    options.workers = 1;
    manager_ = std::make_unique<SessionManager>(options);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
  std::string owners_;
  std::unique_ptr<SessionManager> manager_;
};

TEST_F(TenantRegistryTest, OwnershipSurvivesANewRegistryOnTheSameFile) {
  {
    TenantRegistry tenants(manager_.get(), TenantQuota(), /*enforce=*/true, owners_);
    ASSERT_OK(tenants.Create("acme", "s1", Small()));
    ASSERT_OK(tenants.Create("globex", "s2", Small()));
    ASSERT_OK(tenants.Delete("globex", "s2"));
  }
  // What a restart sees: the sessions come back from the state dir, and the
  // owners from the file.
  TenantRegistry restarted(manager_.get(), TenantQuota(), /*enforce=*/true, owners_);
  EXPECT_OK(restarted.Find("acme", "s1"));
  EXPECT_STATUS_CODE(restarted.Find("globex", "s1"), absl::StatusCode::kNotFound);
  absl::StatusOr<SessionManager::Page> page = restarted.List("acme", 0, "");
  ASSERT_OK(page);
  ASSERT_EQ(page->sessions.size(), 1u);
  EXPECT_EQ(page->sessions[0]->id(), "s1");
}

TEST_F(TenantRegistryTest, CreateIsRefusedWhenOwnershipCannotBeSaved) {
  TenantRegistry tenants(manager_.get(), TenantQuota(), /*enforce=*/true,
                         (dir_ / "missing-dir" / "owners").string());
  EXPECT_STATUS_CODE(tenants.Create("acme", "s1", Small()), absl::StatusCode::kUnavailable);
  EXPECT_STATUS_CODE(manager_->Get("s1"), absl::StatusCode::kNotFound);
}

TEST_F(TenantRegistryTest, MalformedLinesAreSkipped) {
  {
    std::FILE* f = std::fopen(owners_.c_str(), "w");
    std::fputs("s1 acme\nnot a valid line\nbad/id acme\n", f);
    std::fclose(f);
  }
  ASSERT_OK(manager_->Create("s1", Small()));
  TenantRegistry tenants(manager_.get(), TenantQuota(), /*enforce=*/true, owners_);
  EXPECT_OK(tenants.Find("acme", "s1"));
}

// With a state dir (one or several replicas): each session's owner is a
// file beside its checkpoint, so replicas never rewrite each other's.
class TenantFilesTest : public TenantRegistryTest {
 protected:
  // replica: empty for a state dir of its own, else the id of a replica
  // sharing it (leases renewed only by the test: their ttl is a minute).
  std::unique_ptr<SessionManager> Persistent(const std::string& replica = "") {
    SessionManagerOptions options;
    options.workers = 1;
    options.persistence.state_dir = (dir_ / "state").string();
    options.persistence.checkpoint_interval = absl::ZeroDuration();
    options.persistence.shared = !replica.empty();
    options.persistence.replica_id = replica;
    options.persistence.lease_ttl = absl::Seconds(60);
    auto manager = std::make_unique<SessionManager>(options);
    EXPECT_OK(manager->RestoreState());
    return manager;
  }
};

TEST_F(TenantFilesTest, EachSessionKeepsItsOwnerBesideIt) {
  std::unique_ptr<SessionManager> manager = Persistent();
  TenantRegistry tenants(manager.get(), TenantQuota(), /*enforce=*/true);
  ASSERT_OK(tenants.Create("acme", "s1", Small()));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "state/sessions/s1/tenant"));
  EXPECT_STATUS_CODE(tenants.Find("globex", "s1"), absl::StatusCode::kNotFound);
  EXPECT_STATUS_CODE(tenants.Create("globex", "s1", Small()), absl::StatusCode::kAlreadyExists);
  // Another registry on the same dir (a restart, or another replica) agrees.
  TenantRegistry other(manager.get(), TenantQuota(), /*enforce=*/true);
  EXPECT_OK(other.Find("acme", "s1"));
  ASSERT_OK(tenants.Delete("acme", "s1"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "state/sessions/s1"));
  EXPECT_STATUS_CODE(other.Find("acme", "s1"), absl::StatusCode::kNotFound);
}

TEST_F(TenantFilesTest, ReplicasSeeEachOthersOwnersAndNeverTakeThemOver) {
  std::unique_ptr<SessionManager> a = Persistent("a");
  std::unique_ptr<SessionManager> b = Persistent("b");
  TenantRegistry on_a(a.get(), TenantQuota(), /*enforce=*/true);
  TenantRegistry on_b(b.get(), TenantQuota(), /*enforce=*/true);
  ASSERT_OK(on_a.Create("acme", "s1", Small()));
  ASSERT_OK(on_b.Create("globex", "s2", Small()));
  // Held by a: retry later; then b has it, and it is still acme's.
  EXPECT_STATUS_CODE(on_b.Create("globex", "s1", Small()), absl::StatusCode::kUnavailable);
  a->leases()->RenewAll();
  EXPECT_STATUS_CODE(on_b.Create("globex", "s1", Small()), absl::StatusCode::kAlreadyExists);
  EXPECT_STATUS_CODE(on_b.Find("globex", "s1"), absl::StatusCode::kNotFound);
  EXPECT_OK(on_b.Find("acme", "s1"));
  EXPECT_STATUS_CODE(on_a.Find("globex", "s2"), absl::StatusCode::kUnavailable);  // b holds it
  EXPECT_STATUS_CODE(on_a.Find("other", "s2"), absl::StatusCode::kNotFound);
}

TEST_F(TenantFilesTest, TheOldOwnersFileMovesIntoTheSessions) {
  std::unique_ptr<SessionManager> manager = Persistent();
  ASSERT_OK(manager->Create("s1", Small()));
  const std::string owners = (dir_ / "state/owners").string();
  {
    std::FILE* f = std::fopen(owners.c_str(), "w");
    std::fputs("s1 acme\ngone acme\n", f);
    std::fclose(f);
  }
  {
    TenantRegistry tenants(manager.get(), TenantQuota(), /*enforce=*/true, owners);
    EXPECT_OK(tenants.Find("acme", "s1"));
  }
  EXPECT_TRUE(std::filesystem::exists(dir_ / "state/sessions/s1/tenant"));
  EXPECT_FALSE(std::filesystem::exists(owners));
  EXPECT_TRUE(std::filesystem::exists(owners + ".migrated"));
  // Without the old file (as after a complete migration) the owner stays.
  TenantRegistry later(manager.get(), TenantQuota(), /*enforce=*/true);
  EXPECT_OK(later.Find("acme", "s1"));
  EXPECT_STATUS_CODE(later.Find("globex", "s1"), absl::StatusCode::kNotFound);
}

TEST_F(TenantFilesTest, QuotaCountsTheTenantsSessionsOnDisk) {
  std::unique_ptr<SessionManager> manager = Persistent();
  TenantQuota quota;
  quota.max_sessions = 1;
  TenantRegistry tenants(manager.get(), quota, /*enforce=*/true);
  ASSERT_OK(tenants.Create("acme", "s1", Small()));
  EXPECT_OK(tenants.Create("acme", "s1", Small()));  // the same session again
  EXPECT_STATUS_CODE(tenants.Create("acme", "s2", Small()),
                     absl::StatusCode::kResourceExhausted);
  EXPECT_OK(tenants.Create("globex", "s3", Small()));
}

}  // namespace
}  // namespace mine
