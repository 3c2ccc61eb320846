using System.Text.Json.Nodes;
using Marten;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Domain.Guests;
using Matrix.Rooms.Domain.Push;
using Matrix.Rooms.Host.Features.Accounts;
using Matrix.Rooms.Host.Features.Guests;
using Matrix.Rooms.Host.Infrastructure.Http;
using Wolverine;

namespace Matrix.Rooms.Host.Features.PushRules;

/// <summary>
/// A user's changes to the server-default push rules: which are switched on or off, and their replaced actions (a
/// document per user; absent until the first change). User-defined rules are not supported yet.
/// </summary>
public sealed record PushRuleSettings
{
    /// <summary>The user ID.</summary>
    public required string Id { get; init; }
    /// <summary>"kind/ruleId" → enabled.</summary>
    public Dictionary<string, bool> Enabled { get; init; } = new();
    /// <summary>"kind/ruleId" → the actions as JSON text.</summary>
    public Dictionary<string, string> Actions { get; init; } = new();
}

/// <summary><c>PUT /pushrules/global/{kind}/{ruleId}/enabled</c> or <c>…/actions</c> on a server-default rule.</summary>
public sealed record ChangePushRule(string UserId, string Kind, string RuleId, bool? Enabled, JsonArray? Actions);

public static class ChangePushRuleHandler
{
    public static async Task Handle(ChangePushRule command, IDocumentSession session, CancellationToken ct)
    {
        var settings = await session.LoadAsync<PushRuleSettings>(command.UserId, ct) ?? new PushRuleSettings { Id = command.UserId };
        var key = $"{command.Kind}/{command.RuleId}";
        if (command.Enabled is { } enabled) settings.Enabled[key] = enabled;
        if (command.Actions is { } actions) settings.Actions[key] = actions.ToJsonString();
        session.Store(settings);
    }
}

/// <summary>
/// <c>GET /pushrules/</c>, <c>GET /pushrules/global/</c>, one rule, its <c>enabled</c> and <c>actions</c> (spec
/// pushrules.yaml): the spec's default rules for the caller with the caller's changes applied.
/// </summary>
public static class PushRuleEndpoints
{
    public static void MapPushRules(this IEndpointRouteBuilder api)
    {
        api.MapGet("/pushrules/", async (Caller caller, IQuerySession session, CancellationToken ct) =>
            MatrixHttp.Ok(new JsonObject { ["global"] = await RuleSetAsync(caller, session, ct) })).For(ClientEndpoint.PushRules);
        api.MapGet("/pushrules/global/", async (Caller caller, IQuerySession session, CancellationToken ct) =>
            MatrixHttp.Ok(await RuleSetAsync(caller, session, ct))).For(ClientEndpoint.PushRules);
        api.MapGet("/pushrules/global/{kind}/{ruleId}", async (Caller caller, string kind, string ruleId, IQuerySession session, CancellationToken ct) =>
            MatrixHttp.Ok(await RuleAsync(caller, kind, ruleId, session, ct))).For(ClientEndpoint.PushRules);
        api.MapGet("/pushrules/global/{kind}/{ruleId}/enabled", async (Caller caller, string kind, string ruleId, IQuerySession session,
            CancellationToken ct) => MatrixHttp.Ok(new JsonObject { ["enabled"] = (await RuleAsync(caller, kind, ruleId, session, ct))["enabled"]!.DeepClone() }))
            .For(ClientEndpoint.PushRules);
        api.MapGet("/pushrules/global/{kind}/{ruleId}/actions", async (Caller caller, string kind, string ruleId, IQuerySession session,
            CancellationToken ct) => MatrixHttp.Ok(new JsonObject { ["actions"] = (await RuleAsync(caller, kind, ruleId, session, ct))["actions"]!.DeepClone() }))
            .For(ClientEndpoint.PushRules);

        api.MapPut("/pushrules/global/{kind}/{ruleId}/enabled", async (HttpContext http, Caller caller, string kind, string ruleId, IQuerySession session,
            IMessageBus bus, CancellationToken ct) =>
        {
            var body = await http.Request.ReadObjectAsync(ct);
            var enabled = body.OptionalBool("enabled") ?? throw new MatrixException(MatrixError.MissingParam("enabled"));
            await RuleAsync(caller, kind, ruleId, session, ct);
            await bus.InvokeAsync(new ChangePushRule(caller.UserId, kind, ruleId, enabled, null), ct);
            return MatrixHttp.Ok(new JsonObject());
        }).For(ClientEndpoint.PushRules);
        api.MapPut("/pushrules/global/{kind}/{ruleId}/actions", async (HttpContext http, Caller caller, string kind, string ruleId, IQuerySession session,
            IMessageBus bus, CancellationToken ct) =>
        {
            var body = await http.Request.ReadObjectAsync(ct);
            var actions = body.OptionalArray("actions") ?? throw new MatrixException(MatrixError.MissingParam("actions"));
            if (actions.Any(a => a is not (JsonValue or JsonObject)))
                throw new MatrixException(MatrixError.BadJson("actions must be strings or objects"));
            await RuleAsync(caller, kind, ruleId, session, ct);
            await bus.InvokeAsync(new ChangePushRule(caller.UserId, kind, ruleId, null, (JsonArray)actions.DeepClone()), ct);
            return MatrixHttp.Ok(new JsonObject());
        }).For(ClientEndpoint.PushRules);
    }

    private static async Task<JsonObject> RuleSetAsync(Caller caller, IQuerySession session, CancellationToken ct)
    {
        var rules = DefaultPushRules.For(caller.UserId);
        if (await session.LoadAsync<PushRuleSettings>(caller.UserId, ct) is not { } settings) return rules;
        foreach (var kind in DefaultPushRules.Kinds)
        foreach (var rule in rules[kind]!.AsArray().OfType<JsonObject>())
        {
            var key = $"{kind}/{rule["rule_id"]!.GetValue<string>()}";
            if (settings.Enabled.TryGetValue(key, out var enabled)) rule["enabled"] = enabled;
            if (settings.Actions.TryGetValue(key, out var actions)) rule["actions"] = JsonNode.Parse(actions);
        }
        return rules;
    }

    /// <summary>One rule of the caller's set; <c>404 M_NOT_FOUND</c> for an unknown rule, <c>400 M_INVALID_PARAM</c> for an unknown kind.</summary>
    private static async Task<JsonObject> RuleAsync(Caller caller, string kind, string ruleId, IQuerySession session, CancellationToken ct)
    {
        if (!DefaultPushRules.Kinds.Contains(kind)) throw new MatrixException(MatrixError.InvalidParam($"Unknown push rule kind '{kind}'"));
        var rules = await RuleSetAsync(caller, session, ct);
        return rules[kind]!.AsArray().OfType<JsonObject>().FirstOrDefault(r => r["rule_id"]!.GetValue<string>() == ruleId)
            ?? throw new MatrixException(MatrixError.NotFound($"No push rule {kind}/{ruleId}"));
    }
}
