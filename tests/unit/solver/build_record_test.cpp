// The build record round-trips through JSON and reads what earlier
// versions wrote; anything else is an error, never an exception.
#include "solver/build_record.hpp"

#include <gtest/gtest.h>

namespace strata::solver {
namespace {

TEST(BuildRecord, RoundTrips) {
  std::vector<StepRecord> in(2);
  in[0] = {"base", 0, 2, 3, "RUN make", "sha256:aa", true, "", 0};
  in[1] = {"app", 4, 6, 12, "COPY . /src", "sha256:bb", false, "files changed: a.txt", 1.25};
  in[1].incremental_on = "sha256:cc";
  in[1].incremental_from = "the last build";
  in[1].platform = "linux/arm64";
  in[0].started = 1764756000.25;
  in[1].started = 1764756001.5;
  in[1].container_seconds = 1.0;
  auto out = records_from_json(records_to_json(in));
  ASSERT_TRUE(out) << out.error().message;
  ASSERT_EQ(out->size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ((*out)[i].stage, in[i].stage);
    EXPECT_EQ((*out)[i].index, in[i].index);
    EXPECT_EQ((*out)[i].number, in[i].number);
    EXPECT_EQ((*out)[i].line, in[i].line);
    EXPECT_EQ((*out)[i].text, in[i].text);
    EXPECT_EQ((*out)[i].key, in[i].key);
    EXPECT_EQ((*out)[i].cached, in[i].cached);
    EXPECT_EQ((*out)[i].reason, in[i].reason);
    EXPECT_DOUBLE_EQ((*out)[i].seconds, in[i].seconds);
    EXPECT_EQ((*out)[i].incremental_on, in[i].incremental_on);
    EXPECT_EQ((*out)[i].incremental_from, in[i].incremental_from);
    EXPECT_EQ((*out)[i].platform, in[i].platform);
    EXPECT_DOUBLE_EQ((*out)[i].started, in[i].started);
    EXPECT_DOUBLE_EQ((*out)[i].container_seconds, in[i].container_seconds);
  }
}

TEST(BuildRecord, ReadsOlderRecordsAndRefusesOthers) {
  // Without a step number: shown as index + 1.
  auto old = records_from_json(R"([{"stage":"s","index":3,"line":7,"text":"RUN x","key":"k",
                                    "cached":false,"reason":"--no-cache"}])");
  ASSERT_TRUE(old);
  EXPECT_EQ((*old)[0].number, 4u);
  EXPECT_EQ((*old)[0].reason, "--no-cache");
  // Wrong types are defaults, not exceptions.
  auto odd = records_from_json(R"([{"stage":1,"index":"x","cached":"yes"}])");
  ASSERT_TRUE(odd);
  EXPECT_EQ((*odd)[0].stage, "");
  EXPECT_FALSE((*odd)[0].cached);
  EXPECT_FALSE(records_from_json("{}"));
  EXPECT_FALSE(records_from_json("[1]"));
  EXPECT_FALSE(records_from_json("not json"));
  // Text that is not UTF-8 is written replaced, not thrown on.
  std::vector<StepRecord> bad(1);
  bad[0].text = "RUN \xff";
  EXPECT_TRUE(records_from_json(records_to_json(bad)));
}

}  // namespace
}  // namespace strata::solver
