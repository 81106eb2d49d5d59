#pragma once
// The flat parameter buffer on disk and as a fingerprint.
//
// File format (`tptt train --save-params PATH`): NumPy .npy version 1.0 — the 6 bytes
// "\x93NUMPY", the bytes 1 and 0, a little-endian uint16 header length, an ASCII header
//   {'descr': '<f4', 'fortran_order': False, 'shape': (N,), }
// padded with spaces to a multiple of 64 bytes and ended by '\n', then N little-endian
// float32 values: the flat buffer in the layout of model/params.hpp (W_xh | W_hh | b_h |
// W_hy | b_y | V_hh | c_h, each column-major). numpy.load(PATH) reads it; so does
// tests/mpi/compare_runs.py with the Python standard library alone.
#include <cstdint>
#include <iosfwd>
#include <string>

#include "tptt/core/types.hpp"

namespace tptt {

void write_params_npy(std::ostream& out, const VecF& flat);  // throws FileError on a failed write
VecF read_params_npy(const std::string& path);               // throws FileError

// FNV-1a (64 bit) of the buffer's bytes: equal hashes ⇔ (practically) bitwise-equal replicas.
std::uint64_t param_hash(const VecF& flat);
std::string hash_hex(std::uint64_t hash);  // 16 lowercase hex digits

}  // namespace tptt
