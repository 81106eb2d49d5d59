#pragma once
// A minimal JSON object writer for metrics lines and summaries (no dependency needed).
// Non-finite numbers are written as null, so every line stays valid JSON.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace tptt {

class JsonObject {
 public:
  JsonObject& add(std::string_view key, double value);
  JsonObject& add(std::string_view key, long value);
  JsonObject& add(std::string_view key, int value) { return add(key, static_cast<long>(value)); }
  JsonObject& add(std::string_view key, std::uint64_t value);
  JsonObject& add(std::string_view key, bool value);
  JsonObject& add(std::string_view key, std::string_view value);
  JsonObject& add(std::string_view key, const char* value) { return add(key, std::string_view(value)); }
  JsonObject& add_null(std::string_view key);
  JsonObject& add_raw(std::string_view key, std::string_view json);  // an already-encoded value
  JsonObject& add(std::string_view key, const JsonObject& nested) { return add_raw(key, nested.str()); }
  JsonObject& add(std::string_view key, std::span<const double> values);  // a JSON array of numbers
  JsonObject& add(std::string_view key, std::span<const float> values);   // (float: shorter digits)
  std::string str() const { return "{" + body_ + "}"; }

 private:
  void key(std::string_view k);
  std::string body_;
};

std::string json_escape(std::string_view s);             // with the surrounding quotes
std::string json_number(double v);                       // shortest round-trip form, null if non-finite
std::string json_array(std::span<const double> values);  // [n, …], each as json_number
std::string json_array(std::span<const float> values);   // each the shortest form that reads back as that float

}  // namespace tptt
