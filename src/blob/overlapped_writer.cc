#include "blob/overlapped_writer.h"

#include <utility>

namespace plinth {

OverlappedWriter::OverlappedWriter(WritableFile* file, size_t buffer_bytes, int buffers,
                                   int64_t writeback_bytes)
    : file_(file),
      buffer_bytes_(buffer_bytes),
      max_buffers_(buffers < 2 ? 2 : buffers),
      writeback_bytes_(writeback_bytes) {}

OverlappedWriter::~OverlappedWriter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
    queue_.clear();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

char* OverlappedWriter::NextBuffer() {
  std::unique_lock<std::mutex> lock(mu_);
  if (!error_.ok()) return nullptr;
  if (free_.empty() && static_cast<int>(storage_.size()) < max_buffers_) {
    storage_.push_back(std::unique_ptr<char[]>(new char[buffer_bytes_]));
    return storage_.back().get();
  }
  cv_.wait(lock, [this] { return !free_.empty() || !error_.ok(); });
  if (!error_.ok()) return nullptr;
  char* buf = free_.back();
  free_.pop_back();
  return buf;
}

void OverlappedWriter::Submit(char* buf, size_t n) {
  bool start_thread = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(Chunk{buf, n});
    start_thread = !thread_.joinable() && queue_.size() >= 2;
  }
  if (start_thread) {
    thread_ = std::thread(&OverlappedWriter::Run, this);
  } else {
    cv_.notify_all();
  }
}

Status OverlappedWriter::Finish() {
  if (!thread_.joinable()) {
    // Small object: at most one chunk, written here without a thread.
    std::deque<Chunk> chunks;
    {
      std::lock_guard<std::mutex> lock(mu_);
      chunks.swap(queue_);
    }
    for (const Chunk& chunk : chunks) RETURN_IF_ERROR(WriteChunk(chunk));
    return absl::OkStatus();
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
  }
  cv_.notify_all();
  thread_.join();
  std::lock_guard<std::mutex> lock(mu_);
  return error_;
}

Status OverlappedWriter::WriteChunk(const Chunk& chunk) {
  RETURN_IF_ERROR(file_->Append(chunk.data, chunk.size));
  unsynced_ += static_cast<int64_t>(chunk.size);
  if (unsynced_ >= writeback_bytes_) {
    file_->StartWriteback();
    unsynced_ = 0;
  }
  return absl::OkStatus();
}

void OverlappedWriter::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return !queue_.empty() || done_; });
    if (queue_.empty()) return;  // done_ and nothing left
    Chunk chunk = queue_.front();
    queue_.pop_front();
    lock.unlock();
    Status status = WriteChunk(chunk);
    lock.lock();
    free_.push_back(chunk.data);
    if (!status.ok()) {
      error_ = std::move(status);
      queue_.clear();
      cv_.notify_all();
      return;
    }
    cv_.notify_all();
  }
}

}  // namespace plinth
