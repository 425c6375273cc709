// `signet __complete WORD...`: the candidates the bash completion script
// (packaging/completion/signet) offers. Commands and options come from the App tree run() parses,
// so the completion knows every command signet has and no other; key names come from the store.
#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "app.h"
#include "signet/crypto/key.h"
#include "signet/issuance/names.h"
#include "signet/keystore/store.h"

namespace signet::cli {

namespace {

namespace fs = std::filesystem;

// What a word on the command line is, when the shell can help with it.
enum class ValueKind { None, File, Directory, KeyName, Algorithm, RevocationReason };

// The value of an option, by its long name. Options not named here take values the shell cannot
// guess (a new key's name, a comment, a profile, a serial): no candidates.
ValueKind option_value_kind(const CLI::Option& option) {
  static constexpr std::string_view kFiles[] = {"passphrase-file", "new-passphrase-file", "backup-passphrase-file",
                                                "export-passphrase-file", "in-passphrase-file", "out", "config",
                                                "answers", "install-certificate", "csr"};
  for (const std::string& name : option.get_lnames()) {
    if (name == "data-dir") return ValueKind::Directory;
    if (name == "algorithm") return ValueKind::Algorithm;
    if (name == "reason") return ValueKind::RevocationReason;  // revoke, clients remove
    if (std::find(std::begin(kFiles), std::end(kFiles), name) != std::end(kFiles)) return ValueKind::File;
  }
  return ValueKind::None;
}

// The value of a positional argument of `command`. Under `signet keys`, "name", "names" and "old"
// name a key in the store (show, delete, export, verify, rename); "file" is a file everywhere.
ValueKind positional_value_kind(const CLI::App& command, const CLI::Option& positional) {
  const std::string name = positional.get_name(true);
  if (name == "file") return ValueKind::File;
  const CLI::App* group = command.get_parent();
  const bool under_keys = group != nullptr && group->get_name() == "keys" && group->get_parent() != nullptr &&
                          group->get_parent()->get_parent() == nullptr;
  if (under_keys && (name == "name" || name == "names" || name == "old")) return ValueKind::KeyName;
  return ValueKind::None;
}

// A flag (--json, --yes, --all) takes no value: CLI11 gives flags a type size of 1 but expects
// no item, so the number of items is what tells.
bool takes_value(const CLI::Option& option) { return option.get_items_expected_max() > 0; }

// A word that cannot be a candidate: a control character (a newline would make it two lines,
// two candidates; none of them can be typed on a command line anyway).
bool has_control_character(std::string_view word) {
  return std::any_of(word.begin(), word.end(), [](const char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

// The option called `word` ("--out", "-y") on `command` or, since global options may follow a
// command (fallthrough), on one of its parents; nullptr when there is none.
const CLI::Option* find_option(const CLI::App* command, std::string_view word) {
  const bool is_long = word.size() > 2 && word.substr(0, 2) == "--";
  const std::string name(word.substr(is_long ? 2 : 1));
  for (const CLI::App* app = command; app != nullptr; app = app->get_parent()) {
    for (const CLI::Option* option : app->get_options()) {
      const auto& names = is_long ? option->get_lnames() : option->get_snames();
      if (std::find(names.begin(), names.end(), name) != names.end()) return option;
    }
  }
  return nullptr;
}

const CLI::App* find_subcommand(const CLI::App& command, std::string_view word) {
  for (const CLI::App* sub : command.get_subcommands({})) {
    if (sub->get_name() == word && !sub->get_group().empty()) return sub;
  }
  return nullptr;
}

// "file:" URI of `path` (SQLite's URI syntax: '%', '?' and '#' must not appear literally).
std::string file_uri(const fs::path& path) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out = "file:";
  for (const unsigned char c : path.string()) {
    if (std::isalnum(c) != 0 || std::string_view("/-_.~").find(static_cast<char>(c)) != std::string_view::npos) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// The names in the store's `keys` table, read without the passphrase (names are not secret and
// not encrypted) and without writing anything: while another process has the store open its WAL
// and shared-memory files exist and a read-only connection reads through them; otherwise the
// file is opened immutable, so that SQLite creates no -wal or -shm file beside it (a read-only
// open of a WAL database would). Any failure gives no names.
std::vector<std::string> key_names(const fs::path& data_dir) {
  const fs::path db = keystore::KeyStore::database_path(data_dir);
  std::error_code ec;
  if (!fs::is_regular_file(db, ec)) return {};
  const bool open_elsewhere =
      fs::exists(db.string() + "-wal", ec) && fs::exists(db.string() + "-shm", ec);
  const std::string uri = file_uri(db) + (open_elsewhere ? "?mode=ro" : "?immutable=1");
  sqlite3* handle = nullptr;
  std::vector<std::string> out;
  if (sqlite3_open_v2(uri.c_str(), &handle, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr) == SQLITE_OK) {
    sqlite3_busy_timeout(handle, 200);
    sqlite3_stmt* statement = nullptr;
    if (sqlite3_prepare_v2(handle, "SELECT name FROM keys ORDER BY name", -1, &statement, nullptr) == SQLITE_OK) {
      while (sqlite3_step(statement) == SQLITE_ROW) {
        const unsigned char* name = sqlite3_column_text(statement, 0);
        const int size = sqlite3_column_bytes(statement, 0);
        if (name == nullptr) continue;
        std::string text(reinterpret_cast<const char*>(name), static_cast<std::size_t>(size));
        if (!text.empty() && !has_control_character(text)) out.push_back(std::move(text));
      }
    }
    sqlite3_finalize(statement);
  }
  sqlite3_close(handle);  // also after a failed open, which may still allocate a handle
  return out;
}

struct Candidates {
  std::vector<std::string> words;
  ValueKind shell = ValueKind::None;  // File or Directory: the shell completes names itself
};

Candidates values(ValueKind kind, const fs::path& data_dir) {
  Candidates c;
  switch (kind) {
    case ValueKind::File:
    case ValueKind::Directory: c.shell = kind; break;
    case ValueKind::KeyName: c.words = key_names(data_dir); break;
    case ValueKind::Algorithm:
      for (crypto::KeyAlgorithm a : crypto::all_algorithms()) c.words.emplace_back(crypto::to_string(a));
      break;
    case ValueKind::RevocationReason:  // the names parse_revocation_reason() accepts, as it spells them
      for (issuance::RevocationReason r : issuance::all_revocation_reasons()) c.words.emplace_back(issuance::to_string(r));
      break;
    case ValueKind::None: break;
  }
  return c;
}

Candidates candidates(const CLI::App& app, const GlobalOptions& global, const std::vector<std::string>& words) {
  const CLI::App* command = &app;
  fs::path data_dir = global.data_dir;  // --data-dir among the words wins, as it would when run
  const CLI::Option* pending = nullptr;  // an option whose value is the next word
  std::size_t positionals = 0;           // positional words given to `command` so far
  const std::string current = words.empty() ? "" : words.back();

  for (std::size_t i = 0; i + 1 < words.size(); ++i) {
    const std::string& word = words[i];
    if (pending != nullptr) {
      if (option_value_kind(*pending) == ValueKind::Directory) data_dir = word;
      pending = nullptr;
      continue;
    }
    if (word.size() > 1 && word[0] == '-') {
      const std::size_t eq = word.find('=');
      const CLI::Option* option = find_option(command, std::string_view(word).substr(0, eq));
      if (option == nullptr || !takes_value(*option)) continue;
      if (eq == std::string::npos) {
        pending = option;
      } else if (option_value_kind(*option) == ValueKind::Directory) {
        data_dir = word.substr(eq + 1);
      }
      continue;
    }
    if (const CLI::App* sub = find_subcommand(*command, word)) {
      command = sub;
      positionals = 0;
      continue;
    }
    // A word that is not one of a group's commands ("signet nonsense ..."): signet would refuse
    // the line, so nothing after it can be completed.
    if (!command->get_subcommands([](const CLI::App* s) { return !s->get_group().empty(); }).empty()) return {};
    ++positionals;
  }

  if (pending != nullptr) return values(option_value_kind(*pending), data_dir);
  if (current.size() > 2 && current.substr(0, 2) == "--" && current.find('=') != std::string::npos) {
    // "--out=FI": the shell splits at '=' and completes the value alone.
    const CLI::Option* option = find_option(command, std::string_view(current).substr(0, current.find('=')));
    return option != nullptr && takes_value(*option) ? values(option_value_kind(*option), data_dir) : Candidates{};
  }
  Candidates c;
  if (!current.empty() && current[0] == '-') {
    for (const CLI::App* a = command; a != nullptr; a = a->get_parent()) {
      for (const CLI::Option* option : a->get_options()) {
        for (const std::string& name : option->get_lnames()) c.words.push_back("--" + name);
      }
    }
    return c;
  }
  const std::vector<const CLI::App*> subs =
      command->get_subcommands([](const CLI::App* s) { return !s->get_group().empty(); });
  if (!subs.empty()) {
    for (const CLI::App* sub : subs) c.words.push_back(sub->get_name());
    return c;
  }
  // The positional argument this word would be: the n-th, or the last when it takes a list.
  std::vector<const CLI::Option*> slots;
  for (const CLI::Option* option : command->get_options()) {
    if (!option->nonpositional()) slots.push_back(option);
  }
  if (slots.empty()) return c;
  const CLI::Option* slot = slots[std::min(positionals, slots.size() - 1)];
  if (positionals >= slots.size() && slot->get_items_expected_max() <= 1) return c;
  return values(positional_value_kind(*command, *slot), data_dir);
}

}  // namespace

int complete_words(const CLI::App& app, const GlobalOptions& global, const std::vector<std::string>& words) {
  Candidates c = candidates(app, global, words);
  if (c.shell == ValueKind::File) {
    std::cout << ":file\n";
    return kExitOk;
  }
  if (c.shell == ValueKind::Directory) {
    std::cout << ":dir\n";
    return kExitOk;
  }
  std::string current = words.empty() ? "" : words.back();
  if (const std::size_t eq = current.find('='); current.rfind("--", 0) == 0 && eq != std::string::npos) {
    current = current.substr(eq + 1);
  }
  std::sort(c.words.begin(), c.words.end());
  c.words.erase(std::unique(c.words.begin(), c.words.end()), c.words.end());
  for (const std::string& word : c.words) {
    // One candidate a line: a word with a newline (or any control character) is never printed.
    if (word.rfind(current, 0) == 0 && !has_control_character(word)) std::cout << word << '\n';
  }
  return kExitOk;
}

}  // namespace signet::cli
