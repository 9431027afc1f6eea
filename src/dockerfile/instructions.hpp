// Typed Dockerfile instructions: every instruction of the reference with its
// flags checked (unknown flag, missing value, wrong count of arguments), split
// into the global ARGs and the stages. Words stay unexpanded here; the
// frontend expands them where the reference says expansion applies.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "dockerfile/lint.hpp"
#include "dockerfile/mount.hpp"
#include "dockerfile/parser.hpp"

namespace strata::dockerfile {

enum class Kind {
  From,
  Run,
  Cmd,
  Entrypoint,
  Shell,
  Label,
  Expose,
  Env,
  Add,
  Copy,
  Volume,
  User,
  Workdir,
  Arg,
  Onbuild,
  Stopsignal,
  Healthcheck,
  Maintainer,
};
std::string_view keyword(Kind k);  // "RUN"
std::optional<Kind> kind_from_keyword(std::string_view word);

// A flag value as written, with where it starts in the instruction.
struct Flag {
  std::string value;
  size_t offset = 0;
};

struct KeyValue {
  std::string key, value;  // unexpanded
  bool legacy = false;     // written `KEY value`, without the '='
};

struct FromCmd {
  std::string image;       // unexpanded
  std::string stage_name;  // lower-cased, "" when there is no AS
  std::optional<Flag> platform;
};

struct RunCmd {
  struct MountFlag {
    std::vector<MountField> fields;
    size_t offset = 0;
  };
  std::vector<MountFlag> mounts;
  std::optional<Flag> network, security;
  bool shell_form = true;
  std::vector<std::string> args;  // shell form: one string; exec form: argv
  std::vector<Heredoc> heredocs;
};

// CMD, ENTRYPOINT, SHELL
struct ExecCmd {
  bool shell_form = true;
  std::vector<std::string> args;
};

struct KeyValuesCmd {  // ENV, LABEL
  std::vector<KeyValue> pairs;
};

struct ArgCmd {
  struct Decl {
    std::string name;
    std::optional<std::string> value;  // unexpanded default
  };
  std::vector<Decl> decls;
};

struct CopyCmd {                      // COPY, ADD
  std::vector<std::string> sources;   // unexpanded paths, patterns or URLs
  std::vector<Heredoc> inline_files;  // heredoc sources
  std::string dest;
  std::optional<Flag> from, chown, chmod, checksum;
  std::vector<Flag> excludes;
  bool link = false, parents = false, keep_git_dir = false;
  std::optional<bool> unpack;  // ADD --unpack[=BOOL]; default: local archives only
  bool json = false;
};

struct ListCmd {  // EXPOSE, VOLUME
  std::vector<std::string> items;
};

struct ValueCmd {  // USER, WORKDIR, STOPSIGNAL, MAINTAINER
  std::string value;
};

struct HealthcheckCmd {
  bool none = false;
  bool shell_form = true;
  std::vector<std::string> args;  // the command after CMD
  // Durations in nanoseconds, as the image config stores them; 0 = default.
  int64_t interval = 0, timeout = 0, start_period = 0, start_interval = 0;
  int retries = 0;
};

// Go's time.ParseDuration ("1m30s", "250ms"), in nanoseconds.
std::optional<int64_t> parse_duration(std::string_view s);

struct OnbuildCmd {
  std::string expression;  // the trigger instruction, as written
};

using Body = std::variant<FromCmd, RunCmd, ExecCmd, KeyValuesCmd, ArgCmd, CopyCmd, ListCmd,
                          ValueCmd, HealthcheckCmd, OnbuildCmd>;

struct Instruction {
  Kind kind;
  const Node* node = nullptr;  // points into Dockerfile::file
  Body body;

  template <class T>
  const T& as() const {
    return std::get<T>(body);
  }
};

struct Stage {
  Instruction from;
  std::vector<Instruction> commands;
};

struct Dockerfile {
  ParsedFile file;
  std::vector<Instruction> global_args;  // ARGs before the first FROM
  std::vector<Stage> stages;

  // An error pointing at `offset` in the instruction's logical line.
  Error error_at(const Instruction& ins, size_t offset, std::string_view message,
                 std::string_view hint = {}) const;
  Error error_at(const Instruction& ins, std::string_view message,
                 std::string_view hint = {}) const {
    return error_at(ins, ins.node->args_offset, message, hint);
  }
};

// Is an ADD/COPY source a remote one (a URL or a git@ address) rather than
// a path?
bool is_remote_source(std::string_view source);

// strata's own marks: a comment line "# strata:NAME" among the comments
// right above an instruction, which other builders read as a comment.
// "strata:incremental" marks a RUN (frontend::RunStep::incremental).
inline constexpr std::string_view kIncrementalMark = "strata:incremental";
bool has_mark(const Node& node, std::string_view mark);

// Parses and checks a whole Dockerfile (a strata mark that is unknown or
// above an instruction it does not apply to is a warning).
// With a linter, reports what BuildKit checks while reading: empty
// continuation lines, MAINTAINER, stage name casing, `AS` casing, and the
// description comments of stages and ARGs. What it reported before an error
// stays reported.
Result<Dockerfile> read_dockerfile(std::string_view text, std::string name, Linter* lint = nullptr);

// Parses one instruction node (used for ONBUILD triggers as well).
Result<Instruction> parse_instruction(const Node& node, const ParsedFile& file);

}  // namespace strata::dockerfile
