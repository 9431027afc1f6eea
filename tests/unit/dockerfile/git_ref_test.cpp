// Which sources are git repositories and what their fragment and query say,
// as BuildKit's dfgitutil reads them.
#include "dockerfile/git_ref.hpp"

#include <gtest/gtest.h>

namespace strata::dockerfile {
namespace {

GitRef git(std::string_view s) {
  auto r = parse_git_ref(s);
  EXPECT_TRUE(r) << s << ": " << r.error().message;
  EXPECT_TRUE(r && *r) << s << " is not a git source";
  return r && *r ? **r : GitRef{};
}

TEST(GitRef, WhatIsAGitSource) {
  for (const char* yes :
       {"https://github.com/moby/buildkit.git", "http://127.0.0.1:5/.git#v1", "git://host/repo",
        "ssh://git@host/repo.git", "git@github.com:o/r.git", "https://host/r.git?ref=main"})
    EXPECT_TRUE(parse_git_ref(yes).value().has_value()) << yes;
  // Nothing that git could read as an option is a remote.
  for (const char* no :
       {"https://host/archive.tar.gz", "https://host/repo", "ftp://x/y.git", "./local.git",
        "src/app", "a@b/c:d", "--upload-pack=x@host:r", "git@-oProxyCommand=x:r", "a b@host:r"})
    EXPECT_FALSE(parse_git_ref(no).value().has_value()) << no;
}

TEST(GitRef, FragmentRefAndSubdir) {
  auto g = git("https://host/r.git#feature/x:/sub//dir/");
  EXPECT_EQ(g.remote, "https://host/r.git");
  EXPECT_EQ(g.ref, "feature/x");
  EXPECT_EQ(g.subdir, "sub/dir");
  EXPECT_EQ(git("git@host:o/r.git#v1").remote, "git@host:o/r.git");
  EXPECT_EQ(git("https://host/r.git#:only").subdir, "only");
}

TEST(GitRef, QueryForms) {
  auto g = git("https://host/r.git?tag=v1&subdir=a&commit=abcd&keep-git-dir&submodules=false");
  EXPECT_EQ(g.ref, "refs/tags/v1");
  EXPECT_EQ(g.subdir, "a");
  EXPECT_EQ(g.checksum, "abcd");
  EXPECT_EQ(g.keep_git_dir, true);
  EXPECT_EQ(g.submodules, false);
  EXPECT_EQ(git("https://host/r.git?branch=main").ref, "refs/heads/main");
  EXPECT_EQ(git("https://host/r.git?tag=v1#refs/tags/v1").ref, "refs/tags/v1");
  EXPECT_EQ(git("https://host/r.git?mtime=commit").mtime, "commit");
}

TEST(GitRef, QueryErrors) {
  for (auto [bad, why] : std::vector<std::pair<const char*, const char*>>{
           {"https://h/r.git?tag=v1#refs/heads/main", "ref conflicts"},
           {"https://h/r.git?tag=a&branch=b", "branch conflicts with tag"},
           {"https://h/r.git?ref=a&ref=b", "multiple values"},
           {"https://h/r.git?ref=", "has no value"},
           {"https://h/r.git?bogus=1", "unexpected query"},
           {"https://h/r.git?keep-git-dir=maybe", "invalid keep-git-dir value"},
           {"https://h/r.git?mtime=now", "invalid mtime value"}}) {
    auto r = parse_git_ref(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message.find(why), std::string::npos) << r.error().message;
  }
}

TEST(GitRef, CommitHashes) {
  EXPECT_TRUE(is_commit_hash("abcd"));
  EXPECT_TRUE(is_commit_hash(std::string(64, 'f')));
  EXPECT_FALSE(is_commit_hash("abc"));
  EXPECT_FALSE(is_commit_hash("foobar"));
  EXPECT_FALSE(is_commit_hash("ABCD"));
}

}  // namespace
}  // namespace strata::dockerfile
