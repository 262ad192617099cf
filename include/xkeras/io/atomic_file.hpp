// xkeras/io/atomic_file.hpp - writing a file so that a crash never leaves it half-written.
//
// The content goes to a temporary file in the same directory, `.<name>.tmp-XXXXXX`, is written,
// fsync'ed and closed, and is then renamed over the target (rename is atomic on POSIX file
// systems): readers see either the old file or the complete new one. The directory is then
// fsync'ed too, so that the rename itself survives a power loss.
//
// Failures:
// - Before the rename (no space, file too large, no permission, I/O error): the temporary file is
//   removed, the previous file is untouched, and an io_error says what failed and why
//   (strerror: "No space left on device", "File too large", ...).
// - After the rename, when syncing the directory fails: the new file is already in place (the
//   save itself succeeded) but may not survive a power loss; an io_error says exactly that.
//   File systems that cannot sync a directory (EINVAL) are not an error.
// - A process killed during the write (SIGKILL, power loss) runs no clean-up: it can leave its
//   temporary file behind. The next atomic_write to the same path removes such leftovers: files
//   named exactly `.<name>.tmp-` + 6 characters of [A-Za-z0-9] (mkstemp's pattern), regular,
//   last modified more than 2 s before the current process started: leftovers of earlier
//   processes. A save running now in another process keeps touching its file, so it is spared
//   unless it has been stuck for longer than that; two processes saving the same path at once
//   are not supported anyway (the last rename wins). Nothing else in the directory is touched.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>

#include "../config.hpp"

namespace xkeras::io {

namespace detail {

/// When this process started (Linux: /proc/self/stat's starttime after /proc/stat's btime);
/// nullopt where that cannot be read.
inline std::optional<std::filesystem::file_time_type> process_start_time() {
    std::ifstream stat("/proc/self/stat");
    std::string line;
    if (!std::getline(stat, line)) return std::nullopt;
    // the command name (field 2) is in parentheses and may hold spaces: skip past the last ')'
    const auto close = line.rfind(')');
    if (close == std::string::npos) return std::nullopt;
    std::istringstream fields(line.substr(close + 1));
    std::string field;
    unsigned long long start_ticks = 0;
    for (int i = 3; i <= 22 && fields >> field; ++i)
        if (i == 22) start_ticks = std::strtoull(field.c_str(), nullptr, 10);
    std::ifstream proc_stat("/proc/stat");
    long long boot = -1;
    for (std::string key; proc_stat >> key;)
        if (key == "btime") {
            proc_stat >> boot;
            break;
        }
    const long ticks_per_second = ::sysconf(_SC_CLK_TCK);
    if (start_ticks == 0 || boot <= 0 || ticks_per_second <= 0) return std::nullopt;
    using namespace std::chrono;
    const auto start = system_clock::time_point(seconds(boot)) +
                       milliseconds(start_ticks * 1000 / (unsigned long long)ticks_per_second);
    return std::filesystem::file_time_type::clock::now() + (start - system_clock::now());
}

/// Whether `name` is `prefix` followed by 6 characters of mkstemp's alphabet.
inline bool is_temp_name(const std::string& name, const std::string& prefix) {
    if (name.size() != prefix.size() + 6 || name.compare(0, prefix.size(), prefix) != 0)
        return false;
    for (std::size_t i = prefix.size(); i < name.size(); ++i)
        if (!std::isalnum(static_cast<unsigned char>(name[i]))) return false;
    return true;
}

/// Removes the temporary files that killed writers of `dir / <prefix>XXXXXX` left behind (see
/// the header comment for which files count). Best effort: errors are ignored.
inline void remove_stale_temps(const std::filesystem::path& dir, const std::string& prefix) {
    namespace fs = std::filesystem;
    const auto started = process_start_time();
    if (!started) return;
    const auto cutoff = *started - std::chrono::seconds(2);
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (!is_temp_name(name, prefix)) continue;
        std::error_code e2;
        if (!it->is_regular_file(e2) || e2) continue;
        const auto mtime = it->last_write_time(e2);
        if (!e2 && mtime < cutoff) fs::remove(it->path(), e2);
    }
}

}  // namespace detail

/// Atomically replaces `path` with `content` (see the header comment for every failure).
inline void atomic_write(const std::filesystem::path& path, std::string_view content) {
    namespace fs = std::filesystem;
    fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
    // appended, not "." + name: GCC 12 warns (-Wrestrict, a false positive) on that form
    std::string prefix = ".";
    prefix += path.filename().string();
    prefix += ".tmp-";
    detail::remove_stale_temps(dir, prefix);
    std::string tmpl = (dir / (prefix + "XXXXXX")).string();
    int fd = ::mkstemp(tmpl.data());
    if (fd < 0)
        throw io_error(xkeras::detail::cat("cannot create a temporary file in '", dir.string(),
                                           "' to write '", path.string(),
                                           "': ", std::strerror(errno)));
    auto fail = [&](const char* what) {
        int err = errno;
        ::close(fd);
        ::unlink(tmpl.c_str());
        throw io_error(xkeras::detail::cat("cannot write '", path.string(), "' (", what,
                                           " failed: ", std::strerror(err),
                                           "); the previous file, if any, is unchanged"));
    };
    const char* p = content.data();
    std::size_t left = content.size();
    while (left > 0) {
        ssize_t n = ::write(fd, p, left);
        if (n < 0) {
            if (errno == EINTR) continue;
            fail("write");
        }
        p += n;
        left -= std::size_t(n);
    }
    if (::fchmod(fd, 0644) != 0) fail("fchmod");
    if (::fsync(fd) != 0) fail("fsync");
    if (::close(fd) != 0) {
        int err = errno;
        ::unlink(tmpl.c_str());
        throw io_error(xkeras::detail::cat("cannot write '", path.string(),
                                           "' (close failed: ", std::strerror(err),
                                           "); the previous file, if any, is unchanged"));
    }
    if (::rename(tmpl.c_str(), path.c_str()) != 0) {
        int err = errno;
        ::unlink(tmpl.c_str());
        throw io_error(xkeras::detail::cat("cannot replace '", path.string(),
                                           "' (rename failed: ", std::strerror(err),
                                           "); the previous file, if any, is unchanged"));
    }
    // The rename is durable only once the directory is synced.
    int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int err = 0;
    if (dfd < 0)
        err = errno;
    else {
        if (::fsync(dfd) != 0 && errno != EINVAL) err = errno;
        ::close(dfd);
    }
    if (err != 0)
        throw io_error(xkeras::detail::cat(
            "'", path.string(), "' was written and replaced, but syncing its directory '",
            dir.string(), "' failed (", std::strerror(err),
            "): the new file is in place but may not survive a power loss"));
}

}  // namespace xkeras::io
