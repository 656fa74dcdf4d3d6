#include "blob/local_artifact_store.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "blob/artifact_store.h"
#include "blob/fault_injection_env.h"
#include "core/clock.h"
#include "core/sha256.h"

namespace plinth {
namespace {

namespace fs = std::filesystem;

std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(n, '\0');
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t v = rng();
    std::memcpy(&out[i], &v, 8);
  }
  for (; i < n; ++i) out[i] = static_cast<char>(rng());
  return out;
}

// Every regular file and symlink below `dir`, relative to it, sorted.
std::vector<std::string> ListTree(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return out;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator();
       ++it) {
    if (it->is_symlink() || it->is_regular_file()) {
      out.push_back(fs::relative(it->path(), dir).string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string ReadWholeFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteWholeFile(const fs::path& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

// A source handing out `data` in chunks of at most `chunk` bytes.
ByteSource ChunkedSource(const std::string* data, size_t chunk) {
  size_t offset = 0;
  return [data, chunk, offset](char* buf, size_t cap) mutable -> StatusOr<size_t> {
    size_t n = std::min({cap, chunk, data->size() - offset});
    std::memcpy(buf, data->data() + offset, n);
    offset += n;
    return n;
  };
}

class LocalArtifactStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = fs::temp_directory_path().string() + "/blob_test_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    sandbox_ = tmpl;
    root_ = sandbox_ / "store";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(sandbox_, ec);
  }

  std::unique_ptr<ArtifactStore> Open(LocalArtifactStoreOptions options = {}) {
    auto store = CreateLocalArtifactStore(root_.string(), options);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  fs::path ObjectPath(const std::string& digest) {
    auto path = LocalObjectPath(root_.string(), digest);
    EXPECT_TRUE(path.ok()) << path.status();
    return path.ok() ? fs::path(*path) : fs::path();
  }

  std::vector<std::string> Objects() { return ListTree(root_ / "objects"); }
  std::vector<std::string> TempFiles() { return ListTree(root_ / "tmp"); }

  fs::path sandbox_;
  fs::path root_;
};

StatusOr<ArtifactInfo> PutString(ArtifactStore& store, const std::string& data,
                                 const std::string& expected = "", int64_t max_bytes = 0) {
  return store.Put(StringSource(&data), expected, max_bytes);
}

TEST_F(LocalArtifactStoreTest, RoundTripsEmptySmallAndMultiMegabyteObjects) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  for (size_t size : {size_t{0}, size_t{1}, size_t{5}, size_t{1} << 20, (size_t{5} << 20) + 123}) {
    SCOPED_TRACE(size);
    const std::string data = RandomBytes(size, size + 1);
    auto info = PutString(*store, data);
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_EQ(info->digest, Sha256Digest(data));
    EXPECT_EQ(info->size, static_cast<int64_t>(size));

    std::string out;
    ASSERT_TRUE(store->Get(info->digest, StringSink(&out)).ok());
    EXPECT_EQ(out, data);
    EXPECT_TRUE(store->Verify(info->digest).ok());
    auto exists = store->Exists(info->digest);
    ASSERT_TRUE(exists.ok());
    EXPECT_TRUE(*exists);
    auto stat = store->Stat(info->digest);
    ASSERT_TRUE(stat.ok());
    EXPECT_EQ(stat->size, static_cast<int64_t>(size));
    EXPECT_EQ(stat->digest, info->digest);

    // The documented layout: objects/sha256/<2 hex>/<62 hex>, read-only.
    const std::string hex = info->digest.substr(7);
    const fs::path path = root_ / "objects" / "sha256" / hex.substr(0, 2) / hex.substr(2);
    EXPECT_EQ(ObjectPath(info->digest), path);
    struct stat st;
    ASSERT_EQ(::lstat(path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0444u);
    EXPECT_EQ(ReadWholeFile(path), data);
  }
  EXPECT_TRUE(TempFiles().empty());
}

TEST_F(LocalArtifactStoreTest, ManySmallChunksAndSmallBuffersRoundTrip) {
  LocalArtifactStoreOptions options;
  options.buffer_bytes = 4096;  // hundreds of buffers pass through the writer thread
  auto store = Open(options);
  ASSERT_NE(store, nullptr);
  const std::string data = RandomBytes((size_t{3} << 20) + 17, 7);
  for (size_t chunk : {size_t{1}, size_t{777}, size_t{4096}, size_t{1} << 20}) {
    SCOPED_TRACE(chunk);
    std::string part = chunk == 1 ? data.substr(0, 10000) : data;
    auto info = store->Put(ChunkedSource(&part, chunk));
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_EQ(info->digest, Sha256Digest(part));
    std::string out;
    ASSERT_TRUE(store->Get(info->digest, StringSink(&out)).ok());
    EXPECT_EQ(out, part);
  }
}

TEST_F(LocalArtifactStoreTest, FileSourceReadsAWholeFile) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  const std::string data = RandomBytes(3 << 20, 11);
  const fs::path input = sandbox_ / "input.bin";
  WriteWholeFile(input, data);
  int fd = ::open(input.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  auto info = store->Put(FileSource(fd));
  ::close(fd);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->digest, Sha256Digest(data));
  EXPECT_EQ(info->size, static_cast<int64_t>(data.size()));
}

TEST_F(LocalArtifactStoreTest, SameContentTwiceIsStoredOnce) {
  FaultInjectionEnv env(DefaultBlobEnv());
  LocalArtifactStoreOptions options;
  options.env = &env;
  auto store = Open(options);
  ASSERT_NE(store, nullptr);
  const std::string data = RandomBytes(2 << 20, 3);
  auto first = PutString(*store, data);
  ASSERT_TRUE(first.ok());
  struct stat before;
  ASSERT_EQ(::lstat(ObjectPath(first->digest).c_str(), &before), 0);

  env.clear_operations();
  auto second = PutString(*store, data);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->digest, first->digest);
  EXPECT_EQ(second->size, first->size);
  struct stat after;
  ASSERT_EQ(::lstat(ObjectPath(first->digest).c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);
  EXPECT_EQ(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
  EXPECT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
  for (const std::string& op : env.operations()) {
    EXPECT_NE(op.rfind("rename ", 0), 0u) << "the object was written again: " << op;
  }
  EXPECT_EQ(Objects().size(), 1u);
  EXPECT_TRUE(TempFiles().empty());
}

TEST_F(LocalArtifactStoreTest, ConcurrentPutsOfOneContentLeaveOneObject) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  const std::string data = RandomBytes(1 << 20, 5);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      auto info = PutString(*store, data);
      if (info.ok() && info->digest == Sha256Digest(data)) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 4);
  EXPECT_EQ(Objects().size(), 1u);
  EXPECT_TRUE(TempFiles().empty());
  EXPECT_TRUE(store->Verify(Sha256Digest(data)).ok());
}

TEST_F(LocalArtifactStoreTest, ExpectedDigestMismatchStoresNothing) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  const std::string data = RandomBytes(300000, 9);
  const std::string other = Sha256Digest("something else");
  auto info = PutString(*store, data, other);
  ASSERT_EQ(info.status().code(), absl::StatusCode::kDataLoss) << info.status();
  EXPECT_TRUE(Objects().empty());
  EXPECT_TRUE(TempFiles().empty());
  auto exists = store->Exists(Sha256Digest(data));
  ASSERT_TRUE(exists.ok());
  EXPECT_FALSE(*exists);

  auto matching = PutString(*store, data, Sha256Digest(data));
  ASSERT_TRUE(matching.ok()) << matching.status();
  EXPECT_EQ(Objects().size(), 1u);
}

TEST_F(LocalArtifactStoreTest, MaxBytesExceededStoresNothing) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  const std::string data = RandomBytes(2 << 20, 13);
  auto over = PutString(*store, data, "", static_cast<int64_t>(data.size()) - 1);
  EXPECT_EQ(over.status().code(), absl::StatusCode::kResourceExhausted) << over.status();
  EXPECT_TRUE(Objects().empty());
  EXPECT_TRUE(TempFiles().empty());

  // An endless source is cut off at the limit rather than read to exhaustion.
  int64_t produced = 0;
  ByteSource endless = [&produced](char* buf, size_t cap) -> StatusOr<size_t> {
    std::memset(buf, 'x', cap);
    produced += static_cast<int64_t>(cap);
    return cap;
  };
  auto cut = store->Put(endless, "", 1 << 20);
  EXPECT_EQ(cut.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_LE(produced, (1 << 20) + 1);
  EXPECT_TRUE(Objects().empty());
  EXPECT_TRUE(TempFiles().empty());

  auto exact = PutString(*store, data, "", static_cast<int64_t>(data.size()));
  ASSERT_TRUE(exact.ok()) << exact.status();
  EXPECT_EQ(Objects().size(), 1u);
}

TEST_F(LocalArtifactStoreTest, SourceErrorStoresNothing) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  int calls = 0;
  ByteSource failing = [&calls](char* buf, size_t cap) -> StatusOr<size_t> {
    if (++calls > 3) return absl::UnavailableError("connection reset");
    std::memset(buf, 'y', cap);
    return cap;
  };
  auto info = store->Put(failing);
  EXPECT_EQ(info.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(Objects().empty());
  EXPECT_TRUE(TempFiles().empty());
}

TEST_F(LocalArtifactStoreTest, CorruptObjectIsNeverServed) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  const std::string data = RandomBytes(3 << 20, 17);
  auto info = PutString(*store, data);
  ASSERT_TRUE(info.ok());
  const fs::path path = ObjectPath(info->digest);
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(data.size() / 2));
    char c = static_cast<char>(data[data.size() / 2] ^ 0x01);
    f.write(&c, 1);
  }
  ASSERT_NE(ReadWholeFile(path), data);

  std::string out;
  Status get = store->Get(info->digest, StringSink(&out));
  EXPECT_EQ(get.code(), absl::StatusCode::kDataLoss) << get;
  EXPECT_NE(std::string(get.message()).find("is corrupt"), std::string::npos) << get;
  Status verify = store->Verify(info->digest);
  EXPECT_EQ(verify.code(), absl::StatusCode::kDataLoss) << verify;

  // A truncated object is refused the same way.
  ASSERT_EQ(::truncate(path.c_str(), 1000), 0);
  EXPECT_EQ(store->Verify(info->digest).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(store->Get(info->digest, StringSink(&out)).code(), absl::StatusCode::kDataLoss);
}

TEST_F(LocalArtifactStoreTest, VerifiedLocalPathNamesOnlyAVerifiedObjectFile) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  const std::string data = RandomBytes(3 << 20, 29);
  auto info = PutString(*store, data);
  ASSERT_TRUE(info.ok()) << info.status();
  auto path = store->VerifiedLocalPath(info->digest);
  ASSERT_TRUE(path.ok()) << path.status();
  EXPECT_EQ(fs::path(*path), ObjectPath(info->digest));
  EXPECT_EQ(ReadWholeFile(*path), data);
  struct stat st;
  ASSERT_EQ(::lstat(path->c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0444u);  // read-only: the caller only reads it

  EXPECT_EQ(store->VerifiedLocalPath("sha256:../../etc/passwd").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store->VerifiedLocalPath(Sha256Digest("never stored")).status().code(),
            absl::StatusCode::kNotFound);

  // One flipped byte: DataLoss, never a path.
  ASSERT_EQ(::chmod(path->c_str(), 0644), 0);
  {
    std::fstream f(*path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(data.size() / 3));
    char c = static_cast<char>(data[data.size() / 3] ^ 0x40);
    f.write(&c, 1);
  }
  auto corrupt = store->VerifiedLocalPath(info->digest);
  EXPECT_EQ(corrupt.status().code(), absl::StatusCode::kDataLoss) << corrupt.status();
  // Truncated, or a symlink to a file outside the store holding the right bytes: the same.
  ASSERT_EQ(::truncate(path->c_str(), 1000), 0);
  EXPECT_EQ(store->VerifiedLocalPath(info->digest).status().code(), absl::StatusCode::kDataLoss);
  WriteWholeFile(sandbox_ / "outside", data);
  fs::remove(*path);
  fs::create_symlink(sandbox_ / "outside", *path);
  EXPECT_EQ(store->VerifiedLocalPath(info->digest).status().code(), absl::StatusCode::kDataLoss);

  // Putting the bytes again repairs the object, and its path is handed out again.
  ASSERT_TRUE(PutString(*store, data).ok());
  auto repaired = store->VerifiedLocalPath(info->digest);
  ASSERT_TRUE(repaired.ok()) << repaired.status();
  EXPECT_EQ(*repaired, *path);
  EXPECT_EQ(ReadWholeFile(*repaired), data);
}

// A store that keeps no local files (as a remote one would) only implements the required methods.
class MemoryOnlyStore : public ArtifactStore {
 public:
  StatusOr<ArtifactInfo> Put(const ByteSource&, const std::string&, int64_t) override {
    return absl::UnimplementedError("Put");
  }
  Status Get(const std::string&, const ByteSink&) override { return absl::OkStatus(); }
  Status Verify(const std::string&) override { return absl::OkStatus(); }
  StatusOr<ArtifactInfo> Stat(const std::string&) override { return ArtifactInfo(); }
  StatusOr<bool> Exists(const std::string&) override { return true; }
};

TEST(ArtifactStoreTest, VerifiedLocalPathIsUnimplementedWithoutLocalFiles) {
  MemoryOnlyStore store;
  EXPECT_EQ(store.VerifiedLocalPath(Sha256Digest("x")).status().code(),
            absl::StatusCode::kUnimplemented);
}

TEST_F(LocalArtifactStoreTest, TruncatedObjectIsReplacedByTheNextPut) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  const std::string data = RandomBytes(100000, 19);
  auto info = PutString(*store, data);
  ASSERT_TRUE(info.ok());
  const fs::path path = ObjectPath(info->digest);
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  ASSERT_EQ(::truncate(path.c_str(), 10), 0);
  ASSERT_TRUE(PutString(*store, data).ok());
  EXPECT_TRUE(store->Verify(info->digest).ok());
}

TEST_F(LocalArtifactStoreTest, HostileDigestsAreRefusedBeforeTouchingTheFileSystem) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  // A file outside the store that a successful escape would read or create.
  WriteWholeFile(sandbox_ / "secret", "top secret");
  const std::vector<std::string> before = ListTree(sandbox_);

  const std::string hex = Sha256Hex("x");
  std::string upper = hex;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  std::string with_nul = "sha256:" + hex;
  with_nul[20] = '\0';
  const std::vector<std::string> hostile = {
      "",
      "sha256:",
      hex,
      "../secret",
      "../../../../etc/passwd",
      "sha256:../secret",
      "sha256:../../" + hex.substr(6),
      "sha256:..\\..\\" + hex.substr(6),
      "sha256:%2e%2e/" + hex.substr(7),
      "sha256:%2e%2e%2f" + hex.substr(9),
      "sha256:%252e%252e%252f" + hex.substr(15),
      "%2e%2e%2fsecret",
      "%252e%252e%252fsecret",
      "/etc/passwd",
      "sha256:/" + hex.substr(1),
      "//proc/self/root/etc/passwd",
      "file:///etc/passwd",
      "file:" + hex,
      with_nul,
      "sha256:" + hex + std::string(1, '\0'),
      "sha256:" + upper,
      "SHA256:" + hex,
      "sha512:" + hex,
      "sha256:" + hex.substr(1),
      "sha256:" + hex + "0",
      "sha256:" + hex + "/",
      " sha256:" + hex,
      "sha256:" + hex + "\n",
      "sha256:" + hex.substr(0, 62) + "#a",
      "sha256:" + hex.substr(0, 62) + "?a",
      "sha256:" + hex.substr(0, 62) + ";a",
      "sha256:" + hex.substr(0, 63) + "g",
  };
  for (const std::string& digest : hostile) {
    SCOPED_TRACE(::testing::PrintToString(digest));
    std::string out;
    EXPECT_EQ(store->Get(digest, StringSink(&out)).code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(out.empty());
    EXPECT_EQ(store->Verify(digest).code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(store->Stat(digest).status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(store->Exists(digest).status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(LocalObjectPath(root_.string(), digest).status().code(),
              absl::StatusCode::kInvalidArgument);
    bool source_called = false;
    ByteSource source = [&source_called](char*, size_t) -> StatusOr<size_t> {
      source_called = true;
      return size_t{0};
    };
    if (!digest.empty()) {  // an empty expected digest means "no expectation"
      EXPECT_EQ(store->Put(source, digest).status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_FALSE(source_called);
    }
  }
  EXPECT_EQ(ListTree(sandbox_), before);
  EXPECT_EQ(ReadWholeFile(sandbox_ / "secret"), "top secret");
}

TEST_F(LocalArtifactStoreTest, SymlinkAtAnObjectPathIsRefused) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  const std::string secret = "the contents of a file outside the store";
  WriteWholeFile(sandbox_ / "secret", secret);
  const std::string digest = Sha256Digest(secret);
  const fs::path path = ObjectPath(digest);
  fs::create_directories(path.parent_path());
  fs::create_symlink(sandbox_ / "secret", path);

  std::string out;
  Status get = store->Get(digest, StringSink(&out));
  EXPECT_EQ(get.code(), absl::StatusCode::kDataLoss) << get;
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(store->Verify(digest).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(store->Stat(digest).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(store->Exists(digest).status().code(), absl::StatusCode::kDataLoss);

  // A Put of the same content replaces the link with a real object and never writes through it.
  auto info = PutString(*store, secret);
  ASSERT_TRUE(info.ok()) << info.status();
  struct stat st;
  ASSERT_EQ(::lstat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_TRUE(store->Get(digest, StringSink(&out)).ok());
  EXPECT_EQ(out, secret);
  // The file the link pointed at is untouched: still writable by its owner, same contents.
  ASSERT_EQ(::lstat((sandbox_ / "secret").c_str(), &st), 0);
  EXPECT_NE(st.st_mode & 0200, 0u);
  EXPECT_EQ(ReadWholeFile(sandbox_ / "secret"), secret);
}

TEST_F(LocalArtifactStoreTest, SymlinkedFanoutFolderIsRefused) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  const std::string data = "fan-out folder attack";
  const std::string digest = Sha256Digest(data);
  const fs::path path = ObjectPath(digest);
  const fs::path outside = sandbox_ / "outside";
  fs::create_directories(outside);
  WriteWholeFile(outside / path.filename(), data);
  fs::create_directory_symlink(outside, path.parent_path());

  std::string out;
  EXPECT_EQ(store->Get(digest, StringSink(&out)).code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(store->Exists(digest).status().code(), absl::StatusCode::kDataLoss);
  auto put = PutString(*store, data);
  EXPECT_EQ(put.status().code(), absl::StatusCode::kFailedPrecondition) << put.status();
  EXPECT_EQ(ListTree(outside), std::vector<std::string>{path.filename().string()});
  EXPECT_TRUE(TempFiles().empty());
}

TEST_F(LocalArtifactStoreTest, NonRegularFileAtAnObjectPathIsRefusedWithoutBlocking) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  const std::string digest = Sha256Digest("fifo");
  const fs::path path = ObjectPath(digest);
  fs::create_directories(path.parent_path());
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  EXPECT_EQ(store->Verify(digest).code(), absl::StatusCode::kDataLoss);
  const std::string other = Sha256Digest("folder");
  fs::create_directories(ObjectPath(other));
  EXPECT_EQ(store->Verify(other).code(), absl::StatusCode::kDataLoss);
}

TEST_F(LocalArtifactStoreTest, MissingObjectsAreNotFound) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  const std::string digest = Sha256Digest("never stored");
  std::string out;
  EXPECT_EQ(store->Get(digest, StringSink(&out)).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->Verify(digest).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->Stat(digest).status().code(), absl::StatusCode::kNotFound);
  auto exists = store->Exists(digest);
  ASSERT_TRUE(exists.ok());
  EXPECT_FALSE(*exists);
}

TEST_F(LocalArtifactStoreTest, SinkErrorStopsGet) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  const std::string data = RandomBytes(3 << 20, 23);
  auto info = PutString(*store, data);
  ASSERT_TRUE(info.ok());
  int calls = 0;
  Status s = store->Get(info->digest, [&calls](const char*, size_t) -> Status {
    ++calls;
    return absl::CancelledError("client went away");
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(calls, 1);
}

// The write recipe, step by step: the temp file is synced (and read-only) before the rename, and
// the object's folder is synced after it.
TEST_F(LocalArtifactStoreTest, WriteFollowsTheAtomicRecipe) {
  FaultInjectionEnv env(DefaultBlobEnv());
  LocalArtifactStoreOptions options;
  options.env = &env;
  auto store = Open(options);
  ASSERT_NE(store, nullptr);
  env.clear_operations();
  const std::string data = RandomBytes(1000, 29);
  auto info = PutString(*store, data);
  ASSERT_TRUE(info.ok());
  const std::vector<std::string> ops = env.operations();
  const std::string object = ObjectPath(info->digest).string();
  const std::string fanout = ObjectPath(info->digest).parent_path().string();
  auto index_of = [&ops](const std::string& prefix) {
    for (size_t i = 0; i < ops.size(); ++i) {
      if (ops[i].rfind(prefix, 0) == 0) return static_cast<int>(i);
    }
    return -1;
  };
  ASSERT_GE(index_of("create " + (root_ / "tmp").string() + "/put-"), 0);
  const std::string tmp = ops[index_of("create ")].substr(7);
  const int chmod = index_of("chmod " + tmp);
  const int sync = index_of("sync " + tmp);
  const int close = index_of("close " + tmp);
  const int rename = index_of("rename " + tmp + " " + object);
  int syncdir_after = -1;
  for (size_t i = rename + 1; rename >= 0 && i < ops.size(); ++i) {
    if (ops[i] == "syncdir " + fanout) syncdir_after = static_cast<int>(i);
  }
  EXPECT_GE(chmod, 0);
  EXPECT_LT(chmod, sync);
  EXPECT_LT(sync, close);
  EXPECT_LT(close, rename);
  EXPECT_GT(syncdir_after, rename);
  for (const std::string& op : ops) EXPECT_EQ(op.rfind("FAILED", 0), std::string::npos) << op;
}

class FaultInjectionTest : public LocalArtifactStoreTest {
 protected:
  void SetUp() override {
    LocalArtifactStoreTest::SetUp();
    LocalArtifactStoreOptions options;
    options.env = &env_;
    options.buffer_bytes = 64 << 10;
    store_ = Open(options);
    ASSERT_NE(store_, nullptr);
  }

  // Puts `data`, expecting the injected failure to be reported and nothing to be visible.
  void ExpectRefused(const std::string& data) {
    auto info = PutString(*store_, data);
    EXPECT_FALSE(info.ok()) << "a failed write was acknowledged";
    EXPECT_NE(std::string(info.status().message()).find("injected"), std::string::npos)
        << info.status();
    EXPECT_TRUE(Objects().empty());
    EXPECT_TRUE(TempFiles().empty());
    auto exists = store_->Exists(Sha256Digest(data));
    ASSERT_TRUE(exists.ok());
    EXPECT_FALSE(*exists);
  }

  FaultInjectionEnv env_{DefaultBlobEnv()};
  std::unique_ptr<ArtifactStore> store_;
};

TEST_F(FaultInjectionTest, FsyncFailureIsNeverAcknowledged) {
  env_.set_fail_file_sync(true);
  ExpectRefused(RandomBytes(1 << 20, 31));
  ExpectRefused("");
  bool renamed = false;
  for (const std::string& op : env_.operations()) renamed |= op.rfind("rename", 0) == 0;
  EXPECT_FALSE(renamed);
}

TEST_F(FaultInjectionTest, WriteFailureIsNeverAcknowledged) {
  const std::string data = RandomBytes((3 << 20) + 5, 37);
  for (int64_t limit : {int64_t{0}, int64_t{100}, int64_t{64 << 10}, int64_t{(2 << 20) + 3}}) {
    SCOPED_TRACE(limit);
    env_.set_fail_write_after(limit);
    ExpectRefused(data);
  }
}

TEST_F(FaultInjectionTest, RenameFailureIsNeverAcknowledged) {
  env_.set_fail_rename(true);
  ExpectRefused(RandomBytes(200000, 41));
}

TEST_F(FaultInjectionTest, CreateFailureIsNeverAcknowledged) {
  env_.set_fail_create(true);
  auto info = PutString(*store_, "abc");
  EXPECT_FALSE(info.ok());
  EXPECT_TRUE(Objects().empty());
  EXPECT_TRUE(TempFiles().empty());
}

// If the folder cannot be synced the rename may not survive a power cut: Put reports the error.
// Whatever is visible is still complete and correct.
TEST_F(FaultInjectionTest, FolderFsyncFailureIsNeverAcknowledged) {
  env_.set_fail_dir_sync(true);
  const std::string data = RandomBytes(500000, 43);
  auto info = PutString(*store_, data);
  EXPECT_FALSE(info.ok());
  EXPECT_TRUE(TempFiles().empty());
  for (const std::string& name : Objects()) {
    const std::string hex =
        fs::path(name).parent_path().filename().string() + fs::path(name).filename().string();
    EXPECT_EQ(Sha256Hex(ReadWholeFile(root_ / "objects" / name)), hex);
  }
  // A retry of an object that is already visible must also sync the folder before it is
  // acknowledged.
  auto retry = PutString(*store_, data);
  EXPECT_FALSE(retry.ok());
  env_.set_fail_dir_sync(false);
  ASSERT_TRUE(PutString(*store_, data).ok());
}

TEST_F(FaultInjectionTest, StoreWorksAgainOnceFaultsClear) {
  const std::string data = RandomBytes(1 << 20, 47);
  env_.set_fail_file_sync(true);
  ExpectRefused(data);
  env_.set_fail_file_sync(false);
  auto info = PutString(*store_, data);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_TRUE(store_->Verify(info->digest).ok());
}

TEST_F(LocalArtifactStoreTest, OpenRemovesOnlyStaleTempFiles) {
  ASSERT_NE(Open(), nullptr);
  const fs::path tmp = root_ / "tmp";
  WriteWholeFile(tmp / "put-0000stale.tmp", "left by a crashed writer");
  WriteWholeFile(tmp / "put-0000fresh.tmp", "a live writer in another process");
  WriteWholeFile(tmp / "unrelated", "not ours");
  const auto two_hours_ago = ::time(nullptr) - 7200;
  struct timeval times[2] = {{two_hours_ago, 0}, {two_hours_ago, 0}};
  ASSERT_EQ(::utimes((tmp / "put-0000stale.tmp").c_str(), times), 0);
  ASSERT_EQ(::utimes((tmp / "unrelated").c_str(), times), 0);

  ASSERT_NE(Open(), nullptr);
  EXPECT_EQ(TempFiles(), (std::vector<std::string>{"put-0000fresh.tmp", "unrelated"}));

  FakeClock later(SystemClock()->NowMicros() + int64_t{2} * 3600 * 1000000);
  LocalArtifactStoreOptions options;
  options.clock = &later;
  ASSERT_NE(Open(options), nullptr);
  EXPECT_EQ(TempFiles(), std::vector<std::string>{"unrelated"});
}

TEST_F(LocalArtifactStoreTest, RefusesALayoutFolderThatIsASymlink) {
  fs::create_directories(root_);
  fs::create_directories(sandbox_ / "elsewhere");
  fs::create_directory_symlink(sandbox_ / "elsewhere", root_ / "tmp");
  auto store = CreateLocalArtifactStore(root_.string(), {});
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition) << store.status();
}

// Child process for the crash test: puts random objects for ever, appending each acknowledged
// digest to `ack_path`. Never returns.
[[noreturn]] void PutForever(const std::string& root, const std::string& ack_path, uint64_t seed) {
  auto store = CreateLocalArtifactStore(root, {});
  if (!store.ok()) ::_exit(3);
  int ack = ::open(ack_path.c_str(), O_WRONLY | O_APPEND | O_CREAT, 0600);
  if (ack < 0) ::_exit(4);
  std::mt19937_64 rng(seed);
  while (true) {
    size_t size;
    switch (rng() % 16) {
      case 0:
        size = 0;
        break;
      case 1:
        size = (size_t{2} << 20) + rng() % (size_t{4} << 20);  // large: 2-6 MiB, many buffers
        break;
      default:
        size = rng() % (size_t{128} << 10);
    }
    // A few contents recur so that writers race on the same object.
    const std::string data = RandomBytes(size, rng() % 4 == 0 ? rng() % 8 : rng());
    auto info = (*store)->Put(StringSource(&data));
    if (!info.ok()) ::_exit(5);
    const std::string line = info->digest + "\n";
    if (::write(ack, line.data(), line.size()) != static_cast<ssize_t>(line.size())) ::_exit(6);
  }
}

TEST_F(LocalArtifactStoreTest, KilledWritersNeverLeaveAPartialObject) {
  ASSERT_NE(Open(), nullptr);
  const std::string ack_path = (sandbox_ / "acknowledged").string();
  std::mt19937_64 rng(std::random_device{}());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(6);
  int rounds = 0;
  while (std::chrono::steady_clock::now() < deadline && rounds < 300) {
    ++rounds;
    std::vector<pid_t> children;
    for (int i = 0; i < 2; ++i) {  // two writers share the store
      pid_t pid = ::fork();
      ASSERT_GE(pid, 0);
      if (pid == 0) PutForever(root_.string(), ack_path, rng() + i);
      children.push_back(pid);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 40000));
    for (pid_t pid : children) {
      ::kill(pid, SIGKILL);
      int status = 0;
      ASSERT_EQ(::waitpid(pid, &status, 0), pid);
      ASSERT_TRUE(WIFSIGNALED(status))
          << "writer exited on its own with status " << WEXITSTATUS(status);
    }
  }

  // Every visible object is complete: its name is the hash of its contents (hashed here with
  // core's Sha256File, independently of the store's reader).
  const std::vector<std::string> objects = Objects();
  std::set<std::string> present;
  for (const std::string& name : objects) {
    const fs::path rel(name);
    ASSERT_EQ(rel.parent_path().parent_path().string(), "sha256") << name;
    const std::string hex = rel.parent_path().filename().string() + rel.filename().string();
    ASSERT_TRUE(IsValidDigest("sha256:" + hex)) << name;
    const fs::path path = root_ / "objects" / rel;
    struct stat st;
    ASSERT_EQ(::lstat(path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode)) << name;
    EXPECT_EQ(st.st_mode & 07777, 0444u) << name;
    auto actual = Sha256File(path.string());
    ASSERT_TRUE(actual.ok()) << actual.status();
    EXPECT_EQ(*actual, "sha256:" + hex) << "partial or corrupt object " << name;
    present.insert("sha256:" + hex);
  }
  // Partial writes are only ever in tmp/, under the temp naming.
  for (const std::string& name : TempFiles()) {
    EXPECT_EQ(name.rfind("put-", 0), 0u) << name;
  }
  // Every acknowledged object is there (and so, by the check above, intact).
  std::set<std::string> acknowledged;
  std::istringstream acks(ReadWholeFile(ack_path));
  for (std::string digest; std::getline(acks, digest);) acknowledged.insert(digest);
  for (const std::string& digest : acknowledged) {
    EXPECT_EQ(present.count(digest), 1u) << "acknowledged but missing: " << digest;
  }
  EXPECT_GT(rounds, 10);
  EXPECT_FALSE(acknowledged.empty()) << "no writer finished a Put in " << rounds << " rounds";
  std::printf("crash test: %d rounds, %zu objects, %zu acknowledged, %zu temp files left\n", rounds,
              objects.size(), acknowledged.size(), TempFiles().size());

  // Once the writers are long gone, opening the store clears what they left in tmp/.
  FakeClock later(SystemClock()->NowMicros() + int64_t{2} * 3600 * 1000000);
  LocalArtifactStoreOptions options;
  options.clock = &later;
  ASSERT_NE(Open(options), nullptr);
  EXPECT_TRUE(TempFiles().empty());
}

}  // namespace
}  // namespace plinth
