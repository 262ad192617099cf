// xkeras/io/read_file.hpp - opening and reading the files the library loads (model files, IDX
// datasets): regular files only, never blocking, never reading more than they hold.
//
// A path can name a directory, a device that never ends (/dev/zero), or a FIFO whose open
// blocks until a writer comes; none of them is a file to load. The file is opened with
// O_NONBLOCK (so that opening a FIFO returns at once), then fstat tells what it is: anything
// but a regular file is refused by name. A regular file is read up to the size fstat gave.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <string>

#include "../config.hpp"

namespace xkeras::io {

/// An open regular file: its descriptor (closed with the object) and its size when opened.
class regular_file {
  public:
    /// Opens `path` for reading; throws io_error naming `what` ("model file") and the path when
    /// it cannot be opened or is not a regular file.
    regular_file(const std::filesystem::path& path, const char* what) : path_(path.string()) {
        fd_ = ::open(path_.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd_ < 0)
            throw io_error(xkeras::detail::cat(
                "cannot open ", what, " '", path_,
                "': ", errno == ENOENT ? "it does not exist" : std::strerror(errno)));
        struct stat st {};
        if (::fstat(fd_, &st) != 0) {
            const int e = errno;
            ::close(fd_);
            throw io_error(
                xkeras::detail::cat("cannot read ", what, " '", path_, "': ", std::strerror(e)));
        }
        if (!S_ISREG(st.st_mode)) {
            ::close(fd_);
            throw io_error(xkeras::detail::cat(what, " '", path_, "' is ", kind(st.st_mode),
                                               ", not a regular file"));
        }
        size_ = std::size_t(st.st_size);
    }
    ~regular_file() {
        if (fd_ >= 0) ::close(fd_);
    }
    regular_file(const regular_file&) = delete;
    regular_file& operator=(const regular_file&) = delete;

    int fd() const { return fd_; }
    std::size_t size() const { return size_; }
    const std::string& path() const { return path_; }
    /// Hands the descriptor over to the caller (gzdopen, say), which closes it.
    int release() {
        const int fd = fd_;
        fd_ = -1;
        return fd;
    }

  private:
    static const char* kind(mode_t m) {
        if (S_ISDIR(m)) return "a directory";
        if (S_ISCHR(m)) return "a character device";
        if (S_ISBLK(m)) return "a block device";
        if (S_ISFIFO(m)) return "a FIFO (named pipe)";
        if (S_ISSOCK(m)) return "a socket";
        return "a special file";
    }

    int fd_ = -1;
    std::size_t size_ = 0;
    std::string path_;
};

/// Reads an open regular file into out[0, f.size()): the size it had when opened; `what` names
/// it in messages. A file that shrinks while it is read is reported as truncated.
inline void read_into(const regular_file& f, void* out, const char* what) {
    char* bytes = static_cast<char*>(out);
    for (std::size_t got = 0; got < f.size();) {
        const ssize_t n = ::read(f.fd(), bytes + got, f.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0)
            throw io_error(xkeras::detail::cat("cannot read ", what, " '", f.path(),
                                               "': ", std::strerror(errno)));
        if (n == 0)
            throw io_error(xkeras::detail::cat(what, " '", f.path(), "' shrank while it was read: ",
                                               got, " of ", f.size(), " bytes"));
        got += std::size_t(n);
    }
}

/// The whole content of the regular file at `path` (see regular_file), which may hold at most
/// `max_bytes`; `what` names it in messages.
inline std::string read_regular_file(const std::filesystem::path& path, const char* what,
                                     std::size_t max_bytes = std::size_t(-1)) {
    regular_file f(path, what);
    if (f.size() > max_bytes)
        throw io_error(xkeras::detail::cat(what, " '", f.path(), "' holds ", f.size(),
                                           " bytes, more than the ", max_bytes, " accepted"));
    std::string bytes(f.size(), '\0');
    read_into(f, bytes.data(), what);
    return bytes;
}

}  // namespace xkeras::io
