#include "export/convert.hpp"

#include <gtest/gtest.h>

#include "export/image_archive.hpp"

using namespace strata;

TEST(CompressionFor, TheArchiveNameSaysIt) {
  EXPECT_EQ(exporter::compression_for("a/img.tar.zst"), archive::Compression::zstd);
  EXPECT_EQ(exporter::compression_for("img.tar.gz"), archive::Compression::gzip);
  EXPECT_EQ(exporter::compression_for("img.tgz"), archive::Compression::gzip);
  EXPECT_EQ(exporter::compression_for("img.tar"), archive::Compression::none);
  EXPECT_EQ(exporter::compression_for("zst"), archive::Compression::none);
}

TEST(NeedsConversion, OnlyAnotherCompressionOrAForcedLevel) {
  oci::Descriptor gz;
  gz.media_type = "application/vnd.oci.image.layer.v1.tar+gzip";
  exporter::CompressionOptions keep;
  EXPECT_FALSE(exporter::needs_conversion(gz, keep));  // no compression= keeps each layer
  exporter::CompressionOptions zstd{archive::Compression::zstd, -1, false};
  EXPECT_TRUE(exporter::needs_conversion(gz, zstd));
  exporter::CompressionOptions gzip9{archive::Compression::gzip, 9, false};
  EXPECT_FALSE(exporter::needs_conversion(gz, gzip9));  // a level alone does not recompress
  gzip9.force = true;
  EXPECT_TRUE(exporter::needs_conversion(gz, gzip9));
}

TEST(CheckLevel, TheCompressorsRange) {
  EXPECT_TRUE(archive::check_level(archive::Compression::gzip, -1));
  EXPECT_TRUE(archive::check_level(archive::Compression::gzip, 9));
  EXPECT_FALSE(archive::check_level(archive::Compression::gzip, 10));
  EXPECT_TRUE(archive::check_level(archive::Compression::zstd, 22));
  EXPECT_FALSE(archive::check_level(archive::Compression::zstd, 0));
  EXPECT_FALSE(archive::check_level(archive::Compression::none, 3));
}
