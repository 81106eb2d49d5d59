#pragma once
// Output paths: the directories they need are created, and failures carry the system's reason.
#include <string>

namespace tptt {

// The reason of the last failed system call (strerror(errno)).
std::string system_reason();

// Creates the directory (and its parents) if missing; FileError "<option>: cannot create the
// directory '<dir>': <reason>".
void ensure_directory(const std::string& dir, const std::string& option);
// Creates the directory that will hold the file `path` (nothing for a bare file name).
void ensure_parent_directory(const std::string& path, const std::string& option);

bool file_exists(const std::string& path);

}  // namespace tptt
