using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Conformance;
using Matrix.Rooms.Domain.Crypto;

namespace Matrix.Rooms.Domain.Tests.Conformance;

/// <summary>
/// The vectors written from the spec text for room version 12 (creation, creator power, additional creators, room ID
/// from the create event's hash) and for historical user IDs, in the auth-check format:
/// <c>room-version-12-and-historical-ids.json</c>.
/// </summary>
public class RoomVersion12VectorTests
{
    public const string FileName = "room-version-12-and-historical-ids.json";

    private static string Text() =>
        File.ReadAllText(Path.Combine(AuthCheckVectors.RepositoryRoot(), "tests", "Matrix.Rooms.Domain.Tests", "Conformance", FileName));

    [Fact]
    public void Every_vector_gets_the_answer_the_spec_gives()
    {
        var report = AuthCheckSuite.Run(Text());

        report.Results.Where(r => !r.Passed).Select(r => $"{r.Case} {r.List}[{r.Index}] {r.Decision}").Should().BeEmpty();
        report.Results.Should().HaveCount(49);
        report.Results.Should().OnlyContain(r => r.SpecOverride == null);
    }

    [Fact]
    public void The_cases_cover_what_the_v12_rules_changed()
    {
        var rules = AuthCheckSuite.Run(Text()).Results.Select(r => r.Decision.Rule).ToHashSet();

        rules.Should().Contain([
            AuthRule.CreateAllowed, AuthRule.CreateHasRoomId, AuthRule.CreateAdditionalCreatorsInvalid,
            AuthRule.RoomIdNotCreateEvent, AuthRule.JoinCreatorFirstJoin, AuthRule.PowerLevelsUsersContainsCreator,
            AuthRule.BanTargetPowerTooHigh, AuthRule.KickTargetPowerTooHigh, AuthRule.MemberStateKeyInvalid,
            AuthRule.PowerLevelsUsersInvalid,
        ]);
    }

    [Fact]
    public void The_create_event_id_is_its_reference_hash_and_the_room_id_follows_from_it()
    {
        var cases = JsonNode.Parse(Text())!.AsArray();
        var create = cases.Select(c => c!["auth_events"]!["create"]).OfType<JsonObject>()
            .First(c => c["content"]!["room_version"]!.GetValue<string>() == "12");
        var message = cases.Single(c => c!["name"]!.GetValue<string>() == "V12RoomIdFromCreateEventHash")!["allowed"]![1]!;

        EventHashes.EventId(create, RoomVersion.V12).Should().Be(create["event_id"]!.GetValue<string>());
        EventHashes.ContentHashMatches(Pdu.Normalise(create, RoomVersion.V12)).Should().BeTrue("the content hash covers the PDU, which has no event_id from v3");
        message["room_id"]!.GetValue<string>().Should().Be(EventHashes.RoomIdOfCreate(create, RoomVersion.V12));
    }
}
