// Cache keys: what a build step depends on, in a canonical form, and its
// sha256. A step's key covers its parent's key, the instruction and its
// normalised arguments and flags, the ARGs and ENV it sees, user, workdir and
// platform, and for COPY/ADD a Merkle hash of the files it selects (path,
// type, mode, owner, link target, content; never mtime). A cache mount's
// contents and a secret's value never enter a key; their ids and targets do.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace strata::graph {

using Pairs = std::vector<std::pair<std::string, std::string>>;

// One file a COPY/ADD selects, as it enters the key.
struct FileEntry {
  std::string path;  // relative to the source
  char type = 'f';   // f file, d dir, l symlink, o other
  uint32_t mode = 0;
  uint32_t uid = 0, gid = 0;
  std::string link;     // symlink target
  std::string content;  // sha256 of a regular file's bytes
};

struct StepInputs {
  std::string parent;       // the parent step's key, or the base ("scratch", image digest)
  std::string instruction;  // the instruction with its expanded arguments and flags
  Pairs env;                // ARGs and ENV the step sees, in order
  std::string user, workdir, platform;
  Pairs extra;  // other inputs: mounts, sources of --from, heredoc bodies
  std::vector<FileEntry> files;

  // sha256 of the canonical encoding.
  std::string key() const;
  // The Merkle root of `files` ("" when there are none).
  std::string files_digest() const;
  nlohmann::json to_json() const;
  static StepInputs from_json(const nlohmann::json& j);
};

// How the first step's parent and a --from or mount source are written in
// the inputs: the builder writes them with these, explain_difference reads
// them back. (The text is part of every key: changing it misses every cache.)
struct Source {
  // The parent of a stage's first step: a base image by manifest digest,
  // or scratch.
  static std::string base_image(const std::string& manifest_digest) {
    return "base:" + manifest_digest;
  }
  static std::string base_scratch() { return "base:scratch"; }
  // What a --from or a bind mount's from= reads: a stage by its last key,
  // a stage's files by their digest, an image, scratch, context files.
  static std::string stage(const std::string& chain_key) { return "stage:" + chain_key; }
  static std::string stage_files(const std::string& files_digest) {
    return "stage-files:" + files_digest;
  }
  static std::string image(const std::string& manifest_digest) {
    return "image:" + manifest_digest;
  }
  static std::string scratch() { return "scratch"; }
  static std::string context(const std::string& files_digest) { return "context:" + files_digest; }
  static bool is_base(const std::string& s) { return s.starts_with("base:"); }
  static bool is_stage(const std::string& s) { return s.starts_with("stage:"); }
  static std::string base_name(const std::string& s) { return s.substr(5); }  // after "base:"
};

// Why a step's inputs differ from an earlier build's, most telling first:
// "instruction changed ...", "ARG/ENV X: old → new", "files changed: ...",
// "parent changed". Empty when they are the same.
std::string explain_difference(const StepInputs& before, const StepInputs& now);

}  // namespace strata::graph
