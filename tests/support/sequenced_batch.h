#ifndef TESTS_SUPPORT_SEQUENCED_BATCH_H_
#define TESTS_SUPPORT_SEQUENCED_BATCH_H_

#include <cstdint>
#include <string>
#include <vector>

#include "client/synthetic_data.h"
#include "mine/v1/mine.pb.h"

namespace mine {

// Batch `sequence` of session `id`: `rows` rows of a 1+1-dim correlated
// Gaussian seeded by the sequence, so that a resend is the same batch.
inline v1::SampleBatch SequencedBatch(const std::string& id, int64_t sequence, int rows) {
  v1::SampleBatch batch;
  batch.set_session_id(id);
  batch.set_sequence(sequence);
  std::vector<float> x, z;
  CorrelatedGaussian(1, 0.8, Transform::kNone, static_cast<uint64_t>(sequence))
      .Fill(rows, &x, &z);
  *batch.mutable_x() = {x.begin(), x.end()};
  *batch.mutable_z() = {z.begin(), z.end()};
  return batch;
}

}  // namespace mine

#endif  // TESTS_SUPPORT_SEQUENCED_BATCH_H_
