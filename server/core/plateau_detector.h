#ifndef SERVER_CORE_PLATEAU_DETECTOR_H_
#define SERVER_CORE_PLATEAU_DETECTOR_H_

#include <deque>

namespace mine {

namespace internal {
class ByteReader;
class ByteWriter;
}  // namespace internal

// Smooths a session's held-out evaluations and decides when they have
// stopped improving. The rule (documented in README "Estimates"):
// once at least 2*span evaluations were made since training was (re)opened,
// the session has converged when the mean of the last `span` evaluations is
// no more than max(std_error / 4, 0.01 nats) above the mean of the `span`
// before. With the default span (10 evaluations of 50 steps) that means: the
// last 500 steps improved the held-out estimate by less than a quarter of its
// standard error.
// Not thread-safe.
class PlateauDetector {
 public:
  static constexpr int kDefaultSpan = 10;
  static constexpr double kMinGainNats = 0.01;
  static constexpr double kStdErrorFraction = 0.25;

  explicit PlateauDetector(int span = kDefaultSpan) : span_(span) {}

  void Add(double value);
  // Training was re-opened by new data: convergence needs 2*span fresh evaluations.
  void Reopen() { evaluations_since_reopen_ = 0; }
  // Forget every value (after a roll-back).
  void Clear();

  // Checkpoint support: SaveTo appends this object's state; LoadFrom
  // replaces it and returns false on a malformed or mismatching input.
  void SaveTo(internal::ByteWriter* out) const;
  bool LoadFrom(internal::ByteReader* in);

  bool empty() const { return values_.empty(); }
  // Mean of the last `span` evaluations (fewer at the start).
  double Smoothed() const;
  bool Plateaued(double std_error) const;

 private:
  double MeanOf(int from_end, int count) const;

  int span_;
  int evaluations_since_reopen_ = 0;
  std::deque<double> values_;  // at most 2*span_, newest at the back
};

}  // namespace mine

#endif  // SERVER_CORE_PLATEAU_DETECTOR_H_
