// xkeras/io/atomic_file.hpp - writing a file so that a crash never leaves it half-written.
//
// The content goes to a temporary file in the same directory, is flushed and fsync'ed, and is
// then renamed over the target (rename is atomic on POSIX file systems): readers see either the
// old file or the complete new one. On any failure the temporary file is removed, the previous
// file is untouched, and an io_error says what failed.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>

#include "../config.hpp"

namespace xkeras::io {

/// Atomically replaces `path` with `content`.
inline void atomic_write(const std::filesystem::path& path, std::string_view content) {
    namespace fs = std::filesystem;
    fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
    // appended, not "." + name: GCC 12 warns (-Wrestrict, a false positive) on that form
    std::string name = ".";
    name += path.filename().string();
    name += ".tmp-XXXXXX";
    std::string tmpl = (dir / name).string();
    int fd = ::mkstemp(tmpl.data());
    if (fd < 0)
        throw io_error(detail::cat("cannot create a temporary file in '", dir.string(),
                                   "' to write '", path.string(), "': ", std::strerror(errno)));
    auto fail = [&](const char* what) {
        int err = errno;
        ::close(fd);
        ::unlink(tmpl.c_str());
        throw io_error(detail::cat("cannot write '", path.string(), "' (", what,
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
        throw io_error(detail::cat("cannot write '", path.string(), "' (close failed: ",
                                   std::strerror(err), "); the previous file is unchanged"));
    }
    if (::rename(tmpl.c_str(), path.c_str()) != 0) {
        int err = errno;
        ::unlink(tmpl.c_str());
        throw io_error(detail::cat("cannot replace '", path.string(), "' (rename failed: ",
                                   std::strerror(err), "); the previous file is unchanged"));
    }
}

}  // namespace xkeras::io
