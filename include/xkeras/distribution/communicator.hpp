// xkeras/distribution/communicator.hpp - what data-parallel training needs from a transport:
// the process's rank among `size` processes, a broadcast, an all-gather, and non-blocking
// point-to-point transfers of bytes.
//
// The core of xkeras depends on this interface only; distribution/mpi.hpp implements it over MPI
// (the optional `xkeras::mpi` target). Every collective call must be made by every process in the
// same order, as MPI's.
#pragma once

#include <cstddef>
#include <span>
#include <string>

namespace xkeras::distribution {

/// A pending transfer started by isend or irecv: an index the communicator gives out, valid until
/// the next release().
using request = std::size_t;

class Communicator {
  public:
    virtual ~Communicator() = default;

    /// This process's index, 0 to size() - 1.
    virtual int rank() const = 0;
    /// The number of processes.
    virtual int size() const = 0;
    /// The transport, for messages ("MPI: Open MPI v4.1.4").
    virtual std::string describe() const = 0;

    /// Copies `bytes` bytes at `data` from process `root` to every other process's `data`.
    virtual void broadcast(void* data, std::size_t bytes, int root) = 0;
    /// Gathers every process's `bytes` bytes at `mine` into `all` (size() * bytes, by rank).
    virtual void allgather(const void* mine, std::size_t bytes, void* all) = 0;

    /// Starts sending `bytes` bytes at `data` to process `to`; `data` must stay unchanged until
    /// the request completes.
    virtual request isend(const void* data, std::size_t bytes, int to, int tag) = 0;
    /// Starts receiving `bytes` bytes from process `from` into `data`.
    virtual request irecv(void* data, std::size_t bytes, int from, int tag) = 0;
    /// Whether every request of `requests` has completed; makes progress on all pending ones.
    virtual bool test(std::span<const request> requests) = 0;
    /// Waits until every request of `requests` has completed.
    virtual void wait(std::span<const request> requests) = 0;
    /// Forgets every completed request; the indices then start again from 0.
    virtual void release() = 0;
};

}  // namespace xkeras::distribution
