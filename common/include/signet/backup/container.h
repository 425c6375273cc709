// The Signet backup container: one file, encrypted and authenticated under a key derived from a
// backup passphrase, streamed in chunks so that a store of several GB never has to fit in memory.
//
// Layout (all integers big-endian):
//
//   header (74 bytes, plaintext, authenticated as part of every chunk's AAD)
//     magic "SIGNETBK" (8) | format version u16 | kdf id u8 (1 = scrypt) | log2(N) u8 | r u32 |
//     p u32 | salt (32) | file id (16) | chunk size u32 | reserved u16 (0)
//   chunks, each:  length u32 (of what follows) | nonce (12) || AES-256-GCM ciphertext || tag (16)
//     key   = scrypt(passphrase, salt)           (a new salt, so a new key, for every file)
//     nonce = 12 random bytes                    (a fresh key per file keeps the chunk count far
//                                                 below the 2^32 random nonces GCM allows per key)
//     AAD   = header || chunk index u64 || final flag u8 (1 on the last chunk only)
//
// The chunk index in the AAD authenticates the order; the final flag authenticates the
// end, so a file cut after any chunk, a chunk dropped, repeated or moved, a byte flipped anywhere,
// or data appended after the final chunk is detected.
//
// The plaintext stream inside is a sequence of sections: type u8 | length u64 | bytes. Version 1
// has, in order: the manifest (JSON), the secrets (the store's data key), the database (a SQLite
// snapshot of the whole store, so that any table travels without a format change).
//
// Thread-safety: writer and reader objects belong to one thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "signet/core/bytes.h"
#include "signet/crypto/primitives.h"

namespace signet::backup {

inline constexpr std::uint16_t kFormatVersion = 1;
inline constexpr std::size_t kHeaderSize = 74;
inline constexpr std::uint32_t kDefaultChunkSize = 1u << 20;

enum class Section : std::uint8_t { Manifest = 1, Secrets = 2, Database = 3 };

// Writes a container to `out` through a temporary file (fsynced, renamed, directory fsynced,
// mode 0600). Refuses to overwrite an existing file (Error Conflict, "file-exists").
// The database section is streamed from `database_file`.
void write_container(const std::filesystem::path& out, const Passphrase& passphrase,
                     const crypto::ScryptParams& kdf, const std::string& manifest_json,
                     const SecretBytes& secrets, const std::filesystem::path& database_file,
                     std::uint32_t chunk_size = kDefaultChunkSize);

// What a container holds once it has been read and authenticated from end to end.
struct OpenedContainer {
  std::uint16_t format_version = 0;
  std::string manifest_json;
  SecretBytes secrets;
  std::uint64_t database_size = 0;
};

// Reads and authenticates the whole of `in`, writing the database section to `database_out`
// (created 0600; removed again on any failure). Nothing is returned unless every chunk
// authenticated and the final chunk was seen. Errors (all Error, naming what is wrong):
//   "not-a-backup" (Malformed) the file does not start with the magic;
//   "backup-version-unsupported" (Unsupported) a newer format version;
//   "wrong-backup-passphrase" (Unauthorized) the first chunk does not authenticate;
//   "backup-corrupt" (Integrity) a later chunk fails, the file is truncated, reordered, or has
//   trailing data;
//   "backup-kdf-invalid" (Malformed) KDF parameters out of range (a header edited to exhaust memory).
[[nodiscard]] OpenedContainer read_container(const std::filesystem::path& in, const Passphrase& passphrase,
                                             const std::filesystem::path& database_out);

// True when `path` starts with the container magic (reads 8 bytes).
[[nodiscard]] bool looks_like_backup(const std::filesystem::path& path);

}  // namespace signet::backup
