// Security of an in-process MineServer: TLS and mutual TLS handshakes with
// certificates openssl makes at test time (a wrong CA refused), bearer-token
// authentication, tenant isolation (another tenant's session is NOT_FOUND on
// every RPC) and per-tenant quotas (RESOURCE_EXHAUSTED).
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "client/channel_factory.h"
#include "gtest/gtest.h"
#include "tests/server/service/test_util.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_certificates.h"

namespace mine {
namespace {

using service_testing::GaussianBatch;
using service_testing::ServiceTest;
using service_testing::SmallConfig;
using service_testing::TestOptions;

constexpr char kAcmeToken[] = "acme-token-0123456789";
constexpr char kGlobexToken[] = "globex-token-0123456789";

// Per process: ctest runs each case as its own process, several at once, and
// they must not rewrite each other's certificates mid-handshake.
std::string Dir() {
  return ::testing::TempDir() + "mine_security_" + std::to_string(::getpid()) + "/";
}

bool MakeCertificates() { return testing_support::MakeCertificates(Dir()); }

class SecurityTest : public ServiceTest {
 protected:
  static void SetUpTestSuite() { certificates_ok_ = MakeCertificates(); }

  void SetUp() override { ASSERT_TRUE(certificates_ok_) << "openssl failed"; }

  // A ListSessions call over a channel made from `channel`; its status.
  grpc::Status ListOver(ChannelOptions channel, const std::string& token = "") {
    channel.target = absl::StrCat("127.0.0.1:", server_->port());
    absl::StatusOr<std::shared_ptr<grpc::Channel>> made = MakeChannel(channel);
    EXPECT_OK(made);
    if (!made.ok()) return grpc::Status(grpc::StatusCode::INTERNAL, "no channel");
    auto stub = v1::MineService::NewStub(*made);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (!token.empty()) context.AddMetadata("authorization", absl::StrCat("Bearer ", token));
    v1::ListSessionsResponse response;
    return stub->ListSessions(&context, v1::ListSessionsRequest(), &response);
  }

  static inline bool certificates_ok_ = false;
};

TEST_F(SecurityTest, TlsHandshakeSucceedsWithTheRightCaAndFailsWithAWrongOne) {
  MineServerOptions options = TestOptions();
  options.tls = {Dir() + "server.pem", Dir() + "server.key", ""};
  StartServer(options);
  EXPECT_TRUE(server_->tls());
  EXPECT_TRUE(ListOver({"", true, Dir() + "ca.pem"}).ok());
  EXPECT_EQ(ListOver({"", true, Dir() + "other-ca.pem"}).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(ListOver({"", false}).error_code(), grpc::StatusCode::UNAVAILABLE)
      << "plaintext to a TLS port";
}

TEST_F(SecurityTest, MutualTlsRequiresAClientCertificateFromTheClientCa) {
  MineServerOptions options = TestOptions();
  options.tls = {Dir() + "server.pem", Dir() + "server.key", Dir() + "ca.pem"};
  StartServer(options);
  EXPECT_TRUE(
      ListOver({"", true, Dir() + "ca.pem", Dir() + "client.pem", Dir() + "client.key"}).ok());
  EXPECT_EQ(ListOver({"", true, Dir() + "ca.pem"}).error_code(), grpc::StatusCode::UNAVAILABLE)
      << "no client certificate";
  EXPECT_EQ(ListOver({"", true, Dir() + "ca.pem", Dir() + "rogue-client.pem",
                      Dir() + "rogue-client.key"})
                .error_code(),
            grpc::StatusCode::UNAVAILABLE)
      << "a client certificate from another CA";
}

TEST_F(SecurityTest, BadTlsOptionsAreRefusedAtStart) {
  MineServerOptions options = TestOptions();
  options.tls = {Dir() + "server.pem", "", ""};
  EXPECT_STATUS_CODE(MineServer::Start(options), absl::StatusCode::kInvalidArgument);
  options.tls = {Dir() + "missing.pem", Dir() + "server.key", ""};
  EXPECT_STATUS_CODE(MineServer::Start(options), absl::StatusCode::kNotFound);
  EXPECT_STATUS_CODE(MakeChannel({"127.0.0.1:1", true, "", Dir() + "client.pem", ""}),
                     absl::StatusCode::kInvalidArgument);
}

class AuthTest : public SecurityTest {
 protected:
  void StartWithTokens(TenantQuota quota = {}) {
    tokens_path_ = ::testing::TempDir() + "mine_tokens_" + std::to_string(::getpid());
    std::ofstream(tokens_path_) << kAcmeToken << " acme\n" << kGlobexToken << " globex\n";
    MineServerOptions options = TestOptions();
    options.auth_tokens_file = tokens_path_;
    options.tenant_quota = quota;
    StartServer(options);
    EXPECT_TRUE(server_->authenticating());
  }

  static void As(grpc::ClientContext* context, const std::string& token) {
    context->AddMetadata("authorization", absl::StrCat("Bearer ", token));
  }

  grpc::Status Create(const std::string& token, const std::string& id) {
    grpc::ClientContext context;
    As(&context, token);
    v1::CreateSessionRequest request;
    request.set_session_id(id);
    *request.mutable_config() = SmallConfig(1);
    v1::Session session;
    return stub_->CreateSession(&context, request, &session);
  }

  grpc::Status Push(const std::string& token, const std::string& id, int rows) {
    grpc::ClientContext context;
    As(&context, token);
    v1::PushSamplesResponse response;
    return stub_->PushSamples(&context, GaussianBatch(id, rows, 1, 3), &response);
  }

  std::string tokens_path_;
};

TEST_F(AuthTest, MissingOrWrongTokenIsUnauthenticated) {
  StartWithTokens();
  {
    grpc::ClientContext context;
    v1::ListSessionsResponse response;
    EXPECT_EQ(stub_->ListSessions(&context, {}, &response).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  EXPECT_EQ(Create("not-a-valid-token-at-all", "s1").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  {
    grpc::ClientContext context;
    As(&context, "wrong-token-0123456789");
    auto stream = stub_->StreamSamples(&context);
    stream->WritesDone();
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }
  {
    grpc::ClientContext context;
    v1::WatchEstimatesRequest request;
    request.set_session_id("s1");
    auto reader = stub_->WatchEstimates(&context, request);
    v1::Estimate estimate;
    EXPECT_FALSE(reader->Read(&estimate));
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }
  EXPECT_TRUE(Create(kAcmeToken, "s1").ok());
}

TEST_F(AuthTest, AnotherTenantsSessionDoesNotExistForIt) {
  StartWithTokens();
  ASSERT_TRUE(Create(kAcmeToken, "acme-1").ok());
  ASSERT_TRUE(Push(kAcmeToken, "acme-1", 64).ok());

  EXPECT_EQ(Push(kGlobexToken, "acme-1", 64).error_code(), grpc::StatusCode::NOT_FOUND);
  {
    grpc::ClientContext context;
    As(&context, kGlobexToken);
    v1::GetSessionRequest request;
    request.set_session_id("acme-1");
    v1::Session session;
    grpc::Status status = stub_->GetSession(&context, request, &session);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(status.error_message(), "session 'acme-1' does not exist")
        << "the same words as for a missing session";
  }
  {
    grpc::ClientContext context;
    As(&context, kGlobexToken);
    v1::GetEstimateRequest request;
    request.set_session_id("acme-1");
    v1::Estimate estimate;
    EXPECT_EQ(stub_->GetEstimate(&context, request, &estimate).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  {
    grpc::ClientContext context;
    As(&context, kGlobexToken);
    v1::ListSessionsResponse response;
    ASSERT_TRUE(stub_->ListSessions(&context, {}, &response).ok());
    EXPECT_EQ(response.sessions_size(), 0);
  }
  {
    grpc::ClientContext context;
    As(&context, kGlobexToken);
    v1::WatchEstimatesRequest request;
    request.set_session_id("acme-1");
    auto reader = stub_->WatchEstimates(&context, request);
    v1::Estimate estimate;
    EXPECT_FALSE(reader->Read(&estimate));
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
  }
  {
    grpc::ClientContext context;
    As(&context, kGlobexToken);
    auto stream = stub_->StreamSamples(&context);
    stream->Write(GaussianBatch("acme-1", 64, 1, 4));
    stream->WritesDone();
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
  }
  {
    grpc::ClientContext context;
    As(&context, kGlobexToken);
    v1::DeleteSessionRequest request;
    request.set_session_id("acme-1");
    v1::DeleteSessionResponse response;
    EXPECT_EQ(stub_->DeleteSession(&context, request, &response).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  EXPECT_EQ(Create(kGlobexToken, "acme-1").error_code(), grpc::StatusCode::ALREADY_EXISTS);
  {  // The owner still sees it, untouched.
    grpc::ClientContext context;
    As(&context, kAcmeToken);
    v1::ListSessionsResponse response;
    ASSERT_TRUE(stub_->ListSessions(&context, {}, &response).ok());
    ASSERT_EQ(response.sessions_size(), 1);
    EXPECT_EQ(response.sessions(0).session_id(), "acme-1");
  }
}

TEST_F(AuthTest, QuotasAreResourceExhausted) {
  StartWithTokens(TenantQuota{2, 100});
  EXPECT_TRUE(Create(kAcmeToken, "a1").ok());
  EXPECT_TRUE(Create(kAcmeToken, "a2").ok());
  EXPECT_TRUE(Create(kAcmeToken, "a2").ok()) << "re-creating an own session is idempotent";
  EXPECT_EQ(Create(kAcmeToken, "a3").error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_TRUE(Create(kGlobexToken, "g1").ok()) << "quotas are per tenant";

  // 100 rows/s with a 1 s burst: a second 100-row batch right away is over.
  EXPECT_TRUE(Push(kAcmeToken, "a1", 100).ok());
  EXPECT_EQ(Push(kAcmeToken, "a1", 100).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_TRUE(Push(kGlobexToken, "g1", 100).ok());
}

TEST_F(AuthTest, ReloadedTokensTakeEffect) {
  StartWithTokens();
  std::ofstream(tokens_path_) << "fresh-token-0123456789 acme\n";
  ASSERT_OK(server_->ReloadTokens());
  EXPECT_EQ(Create(kAcmeToken, "r1").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(Create("fresh-token-0123456789", "r1").ok());
}

}  // namespace
}  // namespace mine
