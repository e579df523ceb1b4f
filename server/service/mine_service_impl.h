#ifndef SERVER_SERVICE_MINE_SERVICE_IMPL_H_
#define SERVER_SERVICE_MINE_SERVICE_IMPL_H_

#include "grpcpp/grpcpp.h"
#include "mine/v1/mine.grpc.pb.h"
#include "server/service/service_context.h"

namespace mine {

// The mine.v1.MineService callback handlers: each validates the request,
// calls the SessionManager, maps the status (ToGrpcStatus) and replies.
// Streaming calls are StreamSamplesReactor and WatchEstimatesReactor. No
// handler trains or blocks: Session::Ingest only validates and queues.
// Thread-safe; `context` is borrowed and must outlive the server.
//
//   ServiceContext context(&manager, &reaper);
//   MineServiceImpl service(&context);
//   builder.RegisterService(&service);
class MineServiceImpl final : public v1::MineService::CallbackService {
 public:
  explicit MineServiceImpl(ServiceContext* context) : context_(context) {}
  MineServiceImpl(const MineServiceImpl&) = delete;
  MineServiceImpl& operator=(const MineServiceImpl&) = delete;

  grpc::ServerUnaryReactor* CreateSession(grpc::CallbackServerContext* call,
                                          const v1::CreateSessionRequest* request,
                                          v1::Session* response) override;
  grpc::ServerUnaryReactor* GetSession(grpc::CallbackServerContext* call,
                                       const v1::GetSessionRequest* request,
                                       v1::Session* response) override;
  grpc::ServerUnaryReactor* ListSessions(grpc::CallbackServerContext* call,
                                         const v1::ListSessionsRequest* request,
                                         v1::ListSessionsResponse* response) override;
  grpc::ServerUnaryReactor* DeleteSession(grpc::CallbackServerContext* call,
                                          const v1::DeleteSessionRequest* request,
                                          v1::DeleteSessionResponse* response) override;
  grpc::ServerBidiReactor<v1::SampleBatch, v1::Estimate>* StreamSamples(
      grpc::CallbackServerContext* call) override;
  grpc::ServerUnaryReactor* PushSamples(grpc::CallbackServerContext* call,
                                        const v1::SampleBatch* request,
                                        v1::PushSamplesResponse* response) override;
  grpc::ServerUnaryReactor* GetEstimate(grpc::CallbackServerContext* call,
                                        const v1::GetEstimateRequest* request,
                                        v1::Estimate* response) override;
  grpc::ServerWriteReactor<v1::Estimate>* WatchEstimates(
      grpc::CallbackServerContext* call, const v1::WatchEstimatesRequest* request) override;

 private:
  ServiceContext* const context_;
};

}  // namespace mine

#endif  // SERVER_SERVICE_MINE_SERVICE_IMPL_H_
