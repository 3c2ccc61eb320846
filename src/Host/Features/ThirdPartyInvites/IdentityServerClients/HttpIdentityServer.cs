using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Domain.ThirdPartyInvites;
using Matrix.Rooms.IdentityServer;

namespace Matrix.Rooms.Host.Features.ThirdPartyInvites.IdentityServerClients;

/// <summary>
/// The HTTP adapter: an external identity server speaking the identity service API v2 under
/// <c>{base}/_matrix/identity/v2</c>. Only ever built by <see cref="IdentityServers"/> for a trusted server. Redirects
/// are not followed (the client has none configured), answers are capped at 1 MiB, and every call has a timeout.
/// </summary>
public sealed class HttpIdentityServer(string name, Uri baseUri, TimeSpan timeout, HttpClient http) : IIdentityServer
{
    private const int MaxResponseBytes = 1024 * 1024;

    public string Name => name;

    public async Task<HashDetails> HashDetailsAsync(string? accessToken, CancellationToken ct)
    {
        var json = await SendAsync(HttpMethod.Get, Api("hash_details"), null, accessToken, ct);
        var pepper = String(json, "lookup_pepper");
        var algorithms = json["algorithms"] as JsonArray ?? throw Bad("hash_details has no algorithms");
        return new HashDetails(pepper, algorithms.Select(a => a is JsonValue v && v.TryGetValue<string>(out var s) ? s : "").ToList());
    }

    public async Task<IReadOnlyDictionary<string, string>> LookupAsync(string? accessToken, string algorithm, string pepper,
        IReadOnlyList<string> addresses, CancellationToken ct)
    {
        var json = await SendAsync(HttpMethod.Post, Api("lookup"), new JsonObject
        {
            ["algorithm"] = algorithm, ["pepper"] = pepper, ["addresses"] = new JsonArray(addresses.Select(a => (JsonNode?)a).ToArray()),
        }, accessToken, ct);
        var mappings = json["mappings"] as JsonObject ?? throw Bad("lookup has no mappings");
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (address, mxid) in mappings)
            if (mxid is JsonValue v && v.TryGetValue<string>(out var userId)) result[address] = userId;
        return result;
    }

    public async Task<StoredInvite> StoreInviteAsync(string? accessToken, StoreInviteRequest request, CancellationToken ct)
    {
        var body = new JsonObject
        {
            ["medium"] = request.Invitee.Medium, ["address"] = request.Invitee.Address,
            ["room_id"] = request.RoomId, ["sender"] = request.Sender,
        };
        void Optional(string key, string? value)
        {
            if (!string.IsNullOrEmpty(value)) body[key] = value;
        }
        Optional("room_alias", request.RoomAlias);
        Optional("room_avatar_url", request.RoomAvatarUrl);
        Optional("room_join_rules", request.RoomJoinRules);
        Optional("room_name", request.RoomName);
        Optional("room_type", request.RoomType);
        Optional("sender_display_name", request.SenderDisplayName);
        Optional("sender_avatar_url", request.SenderAvatarUrl);

        var json = await SendAsync(HttpMethod.Post, Api("store-invite"), body, accessToken, ct);
        var keys = new List<InvitePublicKey>();
        if (json["public_keys"] is JsonArray list)
            foreach (var entry in list)
                if (entry is JsonObject key)
                    keys.Add(new InvitePublicKey(String(key, "public_key"), OptionalString(key, "key_validity_url")));
        // Identity servers from before public_keys answered with one key at the top level.
        if (keys.Count == 0 && OptionalString(json, "public_key") is { } single)
            keys.Add(new InvitePublicKey(single, OptionalString(json, "key_validity_url")));
        if (keys.Count == 0) throw Bad("store-invite returned no public keys");
        return new StoredInvite(String(json, "token"), keys, String(json, "display_name"));
    }

    public Task<JsonObject> BindAsync(string? accessToken, string sid, string clientSecret, string mxid, CancellationToken ct) =>
        SendAsync(HttpMethod.Post, Api("3pid/bind"), new JsonObject { ["sid"] = sid, ["client_secret"] = clientSecret, ["mxid"] = mxid },
            accessToken, ct);

    /// <summary><c>GET {key_validity_url}?public_key=…</c> → <c>{"valid": true|false}</c>.</summary>
    public async Task<bool> IsKeyValidAsync(Uri keyValidityUrl, string publicKey, CancellationToken ct)
    {
        var separator = string.IsNullOrEmpty(keyValidityUrl.Query) ? "?" : "&";
        var json = await SendAsync(HttpMethod.Get, new Uri($"{keyValidityUrl}{separator}public_key={Uri.EscapeDataString(publicKey)}"),
            null, null, ct);
        return json["valid"] is JsonValue v && v.TryGetValue<bool>(out var valid) ? valid : throw Bad("isvalid has no boolean 'valid'");
    }

    private Uri Api(string path) => new(baseUri, "_matrix/identity/v2/" + path);

    private async Task<JsonObject> SendAsync(HttpMethod method, Uri url, JsonObject? body, string? accessToken, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        using var request = new HttpRequestMessage(method, url);
        if (accessToken is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        if (body is not null) request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        try
        {
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
            var text = await ReadLimitedAsync(response.Content, cts.Token);
            JsonObject? json;
            try
            {
                json = JsonNode.Parse(text) as JsonObject;
            }
            catch (JsonException)
            {
                json = null;
            }
            if (response.IsSuccessStatusCode)
                return json ?? throw Bad($"{url.AbsolutePath} answered {(int)response.StatusCode} without a JSON object");
            if (json?["errcode"] is JsonValue code && code.TryGetValue<string>(out var errcode))
            {
                var error = json["error"] is JsonValue e && e.TryGetValue<string>(out var message) ? message : errcode;
                var extra = json.Where(kv => kv.Key is not ("errcode" or "error"))
                    .ToDictionary(kv => kv.Key, kv => kv.Value?.DeepClone());
                throw new IdentityServerException(name, IdentityServerFailure.Refused, $"{(int)response.StatusCode} {errcode}: {error}",
                    new MatrixError((int)response.StatusCode, errcode, error) { Extra = extra.Count > 0 ? extra : null });
            }
            throw Bad($"{url.AbsolutePath} answered {(int)response.StatusCode}");
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new IdentityServerException(name, IdentityServerFailure.Timeout, $"no answer within {timeout.TotalSeconds:0.#} s");
        }
        catch (HttpRequestException e) when (e.HttpRequestError is HttpRequestError.ConnectionError
                                                 or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError)
        {
            throw new IdentityServerException(name, IdentityServerFailure.Unreachable, e.Message);
        }
        catch (HttpRequestException e)
        {
            throw new IdentityServerException(name, IdentityServerFailure.BadResponse, e.Message);
        }
    }

    private static async Task<string> ReadLimitedAsync(HttpContent content, CancellationToken ct)
    {
        if (content.Headers.ContentLength > MaxResponseBytes) throw new HttpRequestException("The answer is too large");
        await using var stream = await content.ReadAsStreamAsync(ct);
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await stream.ReadAsync(chunk, ct)) > 0)
        {
            if (buffer.Length + read > MaxResponseBytes) throw new HttpRequestException("The answer is too large");
            buffer.Write(chunk, 0, read);
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private IdentityServerException Bad(string message) => new(name, IdentityServerFailure.BadResponse, message);

    private string String(JsonObject json, string key) => OptionalString(json, key) ?? throw Bad($"the answer has no string '{key}'");

    private static string? OptionalString(JsonObject json, string key) =>
        json[key] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
}
