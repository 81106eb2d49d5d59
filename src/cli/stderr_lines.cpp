#include "stderr_lines.hpp"

#include <unistd.h>

#include <cerrno>
#include <iostream>
#include <streambuf>
#include <string>

namespace tptt {

namespace {

class LineBuffer final : public std::streambuf {
 protected:
  int_type overflow(int_type c) override {
    if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
    put(traits_type::to_char_type(c));
    return c;
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    for (std::streamsize i = 0; i < n; ++i) put(s[i]);
    return n;
  }
  int sync() override {
    write_out();
    return 0;
  }

 private:
  void put(char c) {
    line_.push_back(c);
    if (c == '\n' || c == '\r') write_out();
  }
  // One write(2) per line; a write that a signal interrupts or cuts short continues.
  void write_out() {
    std::size_t done = 0;
    while (done < line_.size()) {
      const ssize_t n = ::write(STDERR_FILENO, line_.data() + done, line_.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // stderr is gone: nothing better to do with the text
      done += static_cast<std::size_t>(n);
    }
    line_.clear();
  }
  std::string line_;
};

}  // namespace

void install_line_buffered_stderr() {
  // Never destroyed: std::cerr is flushed during exit, after static objects could be gone.
  static LineBuffer* buffer = new LineBuffer;
  std::cerr.rdbuf(buffer);
}

}  // namespace tptt
