// gen: CSV samples of correlated Gaussians (optionally transformed) with
// known mutual information.
#include <cstdio>
#include <fstream>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/cli/commands.h"
#include "client/cli/exit_codes.h"
#include "client/synthetic_data.h"

namespace mine::cli {

int RunGen(const CommandContext& context) {
  const CommandLine& f = *context.flags;
  absl::StatusOr<int64_t> dim = f.Int("dim", 1);
  absl::StatusOr<int64_t> rows = f.Int("rows", 10000);
  absl::StatusOr<int64_t> seed = f.Int("seed", 1);
  absl::StatusOr<double> rho = f.Double("rho", 0.8);
  absl::StatusOr<double> mi = f.Double("mi", 0);
  for (const absl::Status& s : {dim.status(), rows.status(), seed.status(), rho.status(), mi.status()}) {
    if (!s.ok()) return UsageError(context.command, std::string(s.message()));
  }
  if (*dim < 1 || *dim > 100000 || *rows < 1) {
    return UsageError(context.command, "--dim and --rows must be >= 1");
  }
  if (f.Has("rho") && f.Has("mi")) return UsageError(context.command, "give --rho or --mi, not both");
  double r = *rho;
  if (f.Has("mi")) {
    if (*mi < 0) return UsageError(context.command, "--mi must be >= 0 nats");
    r = CorrelatedGaussian::RhoForMi(static_cast<int>(*dim), *mi);
  }
  if (!(r > -1 && r < 1)) return UsageError(context.command, "--rho must be in (-1, 1)");
  absl::StatusOr<Transform> transform = ParseTransform(f.String("transform", "none"));
  if (!transform.ok()) return UsageError(context.command, std::string(transform.status().message()));
  const std::string delimiter = f.String("delimiter", ",") == "tab" ? "\t" : f.String("delimiter", ",");

  std::ofstream file;
  std::ostream* out = &std::cout;
  if (f.Has("out") && f.String("out") != "-") {
    file.open(f.String("out"));
    if (!file) return UsageError(context.command, absl::StrCat("cannot write ", f.String("out")));
    out = &file;
  }
  CorrelatedGaussian data(static_cast<int>(*dim), r, *transform, static_cast<uint64_t>(*seed));
  const std::string truth =
      absl::StrFormat("# true MI %.4f nats (%.4f bits), dim %d, rho %.6f, transform %s",
                      data.true_mi_nats(), data.true_mi_nats() / std::log(2.0), *dim, r,
                      TransformName(*transform));
  std::fprintf(stderr, "%s\n", truth.c_str());
  if (f.Bool("comment")) *out << truth << "\n";
  const int d = static_cast<int>(*dim);
  if (!f.Bool("no-header")) {
    for (int i = 0; i < d; ++i) *out << (i ? delimiter : "") << "x" << i;
    for (int i = 0; i < d; ++i) *out << delimiter << "z" << i;
    *out << "\n";
  }
  constexpr int64_t kChunk = 4096;
  std::vector<float> x, z;
  std::string text;
  for (int64_t done = 0; done < *rows; done += kChunk) {
    const int64_t take = std::min(kChunk, *rows - done);
    x.clear();
    z.clear();
    data.Fill(take, &x, &z);
    text.clear();
    for (int64_t row = 0; row < take; ++row) {
      for (int i = 0; i < d; ++i) absl::StrAppendFormat(&text, "%s%.7g", i ? delimiter : "", x[row * d + i]);
      for (int i = 0; i < d; ++i) absl::StrAppendFormat(&text, "%s%.7g", delimiter, z[row * d + i]);
      text += "\n";
    }
    *out << text;
  }
  out->flush();
  if (!*out) return UsageError(context.command, "writing the samples failed");
  return kExitOk;
}

}  // namespace mine::cli
