// Data set rules: tags must name columns the table has (the error lists the ones it does have),
// classifications, tag JSON round trips, NAME@VERSION references and version prefixes.
#include "data/dataset.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "data/csv_reader.h"

namespace plinth {
namespace {

using ::testing::HasSubstr;

TEST(DatasetTest, TagsMustNameExistingColumns) {
  auto table = ReadCsvBuffer("id,income,Class\n1,100,good\n2,,bad\n");
  ASSERT_TRUE(table.ok()) << table.status();
  DatasetTags tags;
  tags.target = "Class";
  tags.pii = {"id"};
  EXPECT_TRUE(CheckTags(tags, *table).ok());
  tags.protected_attributes = {"gender"};
  Status s = CheckTags(tags, *table);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("'gender'"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("id, income, Class"));
  tags.protected_attributes.clear();
  tags.classification = "secret";
  EXPECT_EQ(CheckTags(tags, *table).code(), absl::StatusCode::kInvalidArgument);
}

TEST(DatasetTest, TagsRoundTripThroughJson) {
  DatasetTags tags;
  tags.target = "Class";
  tags.pii = SplitColumnList(" name, ssn ,,name");
  tags.protected_attributes = {"age"};
  tags.classification = "confidential";
  EXPECT_EQ(tags.pii, (std::vector<std::string>{"name", "ssn"}));
  Json j = TagsToJson(tags);
  EXPECT_TRUE(j["entity"].is_null());
  auto back = TagsFromJson(j);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, tags);
  EXPECT_FALSE(TagsFromJson({{"classification", "top-secret"}}).ok());
}

TEST(DatasetTest, ReferencesAndVersions) {
  DatasetRef r = ParseDatasetRef("credit@0123456789abcdef");
  EXPECT_EQ(r.name, "credit");
  EXPECT_EQ(r.version, "0123456789abcdef");
  EXPECT_EQ(ParseDatasetRef("credit").version, "");
  EXPECT_EQ(*NormalizeVersion("sha256:0123456789ABcd"), "0123456789abcd");
  EXPECT_FALSE(NormalizeVersion("0123456789a").ok());  // 11 characters
  EXPECT_FALSE(NormalizeVersion("0123456789ax").ok());
  EXPECT_TRUE(ValidateDatasetName("lending_club.v2").ok());
  EXPECT_FALSE(ValidateDatasetName("../etc").ok());
  EXPECT_FALSE(ValidateDatasetName("").ok());
}

TEST(DatasetTest, SchemaListsTypesAndNulls) {
  auto table = ReadCsvBuffer("id,income\n1,100\n2,\n");
  ASSERT_TRUE(table.ok());
  Json s = SchemaJson(*table);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[1]["name"], "income");
  EXPECT_EQ(s[1]["type"], "int64");
  EXPECT_EQ(s[1]["nulls"], 1);
}

}  // namespace
}  // namespace plinth
