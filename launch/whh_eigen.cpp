// The largest eigenvalues of W_hh in a parameter file of `tptt train --save-params` (.npy,
// float32, the flat layout of include/tptt/model/params.hpp: W_xh (H×I) first, then W_hh (H×H),
// column-major), with the angle of each and the period 2π/|angle| in steps: the rotation a
// trained SRN uses to hold a marker (docs/generalisation.md).
//
//   g++ -O2 -std=c++20 -I/usr/include/eigen3 launch/whh_eigen.cpp -o whh_eigen
//   ./whh_eigen PARAMS.npy I H [COUNT]       # I: inputs (temporal 6, perm 100), H: hidden units
#include <Eigen/Eigenvalues>

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: whh_eigen PARAMS.npy I H [COUNT]\n");
    return 2;
  }
  const int inputs = std::stoi(argv[2]), hidden = std::stoi(argv[3]), count = argc > 4 ? std::stoi(argv[4]) : 8;
  std::ifstream f(argv[1], std::ios::binary);
  char magic[8];
  unsigned short header_len = 0;
  f.read(magic, 8);
  f.read(reinterpret_cast<char*>(&header_len), 2);  // .npy version 1: little-endian u16
  f.seekg(10 + header_len);
  const std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<float> theta(bytes.size() / sizeof(float));
  std::memcpy(theta.data(), bytes.data(), theta.size() * sizeof(float));
  const std::size_t offset = static_cast<std::size_t>(hidden) * inputs;
  if (theta.size() < offset + static_cast<std::size_t>(hidden) * hidden) {
    std::fprintf(stderr, "whh_eigen: %s is too short for I = %d, H = %d\n", argv[1], inputs, hidden);
    return 1;
  }
  Eigen::MatrixXd W(hidden, hidden);
  for (int c = 0; c < hidden; ++c)
    for (int r = 0; r < hidden; ++r) W(r, c) = theta[offset + static_cast<std::size_t>(c) * hidden + r];
  const Eigen::EigenSolver<Eigen::MatrixXd> es(W, false);
  std::vector<std::complex<double>> ev(es.eigenvalues().data(), es.eigenvalues().data() + hidden);
  std::sort(ev.begin(), ev.end(), [](auto a, auto b) { return std::abs(a) > std::abs(b); });
  for (int k = 0; k < std::min(count, hidden); ++k) {
    const double angle = std::arg(ev[k]);
    std::printf("|lambda| = %.4f  angle = %+.4f rad  period = %s steps\n", std::abs(ev[k]), angle,
                angle == 0 ? "inf" : std::to_string(2 * M_PI / std::abs(angle)).c_str());
  }
  return 0;
}
