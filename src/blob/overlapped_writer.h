// Overlaps hashing with writing: the caller fills and hashes one buffer while a writer thread
// appends earlier ones to a WritableFile. A fixed number of fixed-size buffers bounds memory
// whatever the size of the file. The thread starts only when a second buffer is submitted, so a
// small object is written on the caller's thread with no thread at all.
//
// Used by one thread (the caller); the writer thread is internal. Bytes reach the file in the
// order they were submitted.
#ifndef PLINTH_BLOB_OVERLAPPED_WRITER_H_
#define PLINTH_BLOB_OVERLAPPED_WRITER_H_

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "blob/blob_env.h"
#include "core/status.h"

namespace plinth {

class OverlappedWriter {
 public:
  // Writes to `file` (not owned; must outlive this object) through at most `buffers` buffers of
  // `buffer_bytes` each, starting writeback every `writeback_bytes` (see
  // WritableFile::StartWriteback).
  OverlappedWriter(WritableFile* file, size_t buffer_bytes, int buffers, int64_t writeback_bytes);
  // Stops the writer thread; writes still queued are dropped (Finish() was not reached because the
  // Put failed, and the file is discarded).
  ~OverlappedWriter();
  OverlappedWriter(const OverlappedWriter&) = delete;
  OverlappedWriter& operator=(const OverlappedWriter&) = delete;

  // A buffer of buffer_size() bytes to fill, waiting while all buffers are queued. Returns null
  // once a write has failed; Finish() then returns the error.
  char* NextBuffer();
  // Queues the first `n` bytes of `buf`, the buffer most recently returned by NextBuffer().
  void Submit(char* buf, size_t n);
  // Waits until every queued byte is written. Returns the first write error, if any.
  Status Finish();

  size_t buffer_size() const { return buffer_bytes_; }

 private:
  struct Chunk {
    char* data;
    size_t size;
  };

  void Run();
  // Appends `chunk` and starts writeback when due. Called without mu_ held.
  Status WriteChunk(const Chunk& chunk);

  WritableFile* const file_;
  const size_t buffer_bytes_;
  const int max_buffers_;
  const int64_t writeback_bytes_;
  int64_t unsynced_ = 0;  // touched only by the thread that writes

  std::vector<std::unique_ptr<char[]>> storage_;  // allocated on demand, up to max_buffers_
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<char*> free_;  // guarded by mu_
  std::deque<Chunk> queue_;  // guarded by mu_
  Status error_;             // guarded by mu_
  bool done_ = false;        // guarded by mu_: no more submissions, or shutting down
  std::thread thread_;
};

}  // namespace plinth

#endif  // PLINTH_BLOB_OVERLAPPED_WRITER_H_
