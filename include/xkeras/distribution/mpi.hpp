// xkeras/distribution/mpi.hpp - the Communicator over MPI, and an MPI session for main():
//
//   int main(int argc, char** argv) {
//       xkeras::distribution::mpi::session mpi(argc, argv);
//       xkeras::distribution::set_distribution(xkeras::distribution::DataParallel(mpi.world()));
//       ...
//   }
//
// Only code linked with the optional `xkeras::mpi` CMake target includes this header; the rest
// of xkeras knows the Communicator interface alone. MPI is used from the thread that made the
// session (MPI_THREAD_FUNNELED).
#pragma once

// the C API only: MPI's C++ bindings are deprecated and do not compile warning-free
#ifndef OMPI_SKIP_MPICXX
#define OMPI_SKIP_MPICXX 1
#endif
#ifndef MPICH_SKIP_MPICXX
#define MPICH_SKIP_MPICXX 1
#endif
#include <mpi.h>

#include <climits>
#include <cstddef>
#include <cstdlib>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "../config.hpp"
#include "communicator.hpp"
#include "data_parallel.hpp"

namespace xkeras::distribution::mpi {

/// Throws runtime_error naming the call and MPI's message when `code` is not MPI_SUCCESS (the
/// communicator returns errors instead of aborting: MPI_ERRORS_RETURN).
inline void check(int code, const char* call) {
    if (code == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(code, text, &length);
    throw error(
        xkeras::detail::cat("MPI: ", call, " failed: ", std::string(text, std::size_t(length))));
}

/// A count of bytes as MPI's int.
inline int byte_count(std::size_t bytes, const char* call) {
    if (bytes > std::size_t(INT_MAX))
        throw value_error(xkeras::detail::cat("MPI: ", call, " of ", bytes,
                                              " bytes is more than one message carries (", INT_MAX,
                                              "); use smaller gradient buckets"));
    return int(bytes);
}

/// A Communicator over a duplicate of an MPI communicator (so that xkeras's messages never
/// match the program's own).
class Communicator final : public distribution::Communicator {
  public:
    explicit Communicator(MPI_Comm parent = MPI_COMM_WORLD) {
        check(MPI_Comm_dup(parent, &comm_), "MPI_Comm_dup");
        MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
        MPI_Comm_rank(comm_, &rank_);
        MPI_Comm_size(comm_, &size_);
    }
    ~Communicator() override {
        int finalized = 0;
        MPI_Finalized(&finalized);
        if (!finalized) MPI_Comm_free(&comm_);
    }
    Communicator(const Communicator&) = delete;
    Communicator& operator=(const Communicator&) = delete;

    int rank() const override { return rank_; }
    int size() const override { return size_; }
    std::string describe() const override {
        char version[MPI_MAX_LIBRARY_VERSION_STRING];
        int length = 0;
        MPI_Get_library_version(version, &length);
        std::string v(version, std::size_t(length));
        if (auto cut = v.find_first_of(",\n"); cut != std::string::npos) v.resize(cut);
        return xkeras::detail::cat("MPI: ", v, ", rank ", rank_, " of ", size_);
    }

    void broadcast(void* data, std::size_t bytes, int root) override {
        check(MPI_Bcast(data, byte_count(bytes, "MPI_Bcast"), MPI_BYTE, root, comm_), "MPI_Bcast");
    }
    void allgather(const void* mine, std::size_t bytes, void* all) override {
        const int n = byte_count(bytes, "MPI_Allgather");
        check(MPI_Allgather(mine, n, MPI_BYTE, all, n, MPI_BYTE, comm_), "MPI_Allgather");
    }
    request isend(const void* data, std::size_t bytes, int to, int tag) override {
        requests_.push_back(MPI_REQUEST_NULL);
        check(MPI_Isend(data, byte_count(bytes, "MPI_Isend"), MPI_BYTE, to, tag, comm_,
                        &requests_.back()),
              "MPI_Isend");
        return requests_.size() - 1;
    }
    request irecv(void* data, std::size_t bytes, int from, int tag) override {
        requests_.push_back(MPI_REQUEST_NULL);
        check(MPI_Irecv(data, byte_count(bytes, "MPI_Irecv"), MPI_BYTE, from, tag, comm_,
                        &requests_.back()),
              "MPI_Irecv");
        return requests_.size() - 1;
    }
    bool test(std::span<const request> rs) override {
        bool all = true;
        for (request r : rs) {
            int done = 0;
            check(MPI_Test(&requests_.at(r), &done, MPI_STATUS_IGNORE), "MPI_Test");
            all = all && done;
        }
        return all;
    }
    void wait(std::span<const request> rs) override {
        for (request r : rs) check(MPI_Wait(&requests_.at(r), MPI_STATUS_IGNORE), "MPI_Wait");
    }
    void release() override {
        for (auto& r : requests_)
            if (r != MPI_REQUEST_NULL)
                throw state_error("MPI: a transfer was released before it completed");
        requests_.clear();
    }

    MPI_Comm handle() const { return comm_; }

  private:
    MPI_Comm comm_ = MPI_COMM_NULL;
    int rank_ = 0, size_ = 1;
    std::vector<MPI_Request> requests_;
};

/// Ends every process of the job with exit code `code` (MPI_Abort): what a process that fails
/// alone calls instead of returning from main, where MPI_Finalize would wait for peers that wait
/// for it. mpirun names the rank that called it.
[[noreturn]] inline void abort(int code) {
    MPI_Abort(MPI_COMM_WORLD, code);
    std::abort();  // MPI_Abort does not return
}

/// MPI for the life of main(): MPI_Init_thread at construction (unless the program initialized
/// MPI itself), MPI_Finalize at destruction (when this session initialized it). The
/// distribution over world(), when it is the current one, ends with the session.
class session {
  public:
    session(int& argc, char**& argv) {
        int initialized = 0;
        MPI_Initialized(&initialized);
        if (!initialized) {
            int provided = 0;
            check(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
            owns_ = true;
        }
        world_ = std::make_shared<Communicator>(MPI_COMM_WORLD);
    }
    ~session() {
        // a distribution over this session's processes ends with it
        if (auto d = distribution::distribution(); d && &d->communicator() == world_.get())
            clear_distribution();
        world_.reset();
        if (owns_) MPI_Finalize();
    }
    session(const session&) = delete;
    session& operator=(const session&) = delete;

    /// Every process of the job.
    std::shared_ptr<Communicator> world() const { return world_; }

  private:
    bool owns_ = false;
    std::shared_ptr<Communicator> world_;
};

}  // namespace xkeras::distribution::mpi
