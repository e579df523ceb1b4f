#ifndef TESTS_SUPPORT_SMALL_SESSION_CONFIG_H_
#define TESTS_SUPPORT_SMALL_SESSION_CONFIG_H_

#include "server/core/session_config.h"

namespace mine {

// A session that trains in milliseconds: `dim` x and z columns, one hidden
// layer of 16, batches of 32, a window of 2,048 rows.
inline SessionConfig SmallSessionConfig(int dim = 1) {
  SessionConfig c;
  c.x_dim = dim;
  c.z_dim = dim;
  c.hidden_units = {16};
  c.batch_size = 32;
  c.window_size = 2048;
  return c;
}

}  // namespace mine

#endif  // TESTS_SUPPORT_SMALL_SESSION_CONFIG_H_
