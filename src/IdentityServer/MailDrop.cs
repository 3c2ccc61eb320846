using System.Globalization;
using System.Text;
using Matrix.Rooms.Domain.ThirdPartyInvites;
using Microsoft.Extensions.Options;
using NodaTime;
using NodaTime.Text;

namespace Matrix.Rooms.IdentityServer;

/// <summary>
/// The identity server's outgoing mail: each message is written as one RFC 5322 <c>.eml</c> file in the mail
/// drop folder (<see cref="IdentityServerOptions.MailDrop"/> under the data directory; embedded, <c>.data/maildrop/</c>). A validation e-mail's body holds the token on a line of its own,
/// <c>Token: &lt;token&gt;</c>, so a person (or a script: <c>grep '^Token:'</c>) can read it from the file. The files hold
/// secrets (a validation token proves an address), so on Unix the folder is <c>0700</c> and each file <c>0600</c>, and
/// the log names only the kind and the file, never the body.
/// </summary>
public sealed class MailDrop(IOptions<IdentityServerOptions> options, IClock clock, ILogger<MailDrop> logger)
{
    public string Folder => Path.Combine(options.Value.ResolveDataDirectory(), options.Value.MailDrop);

    /// <summary>
    /// Writes the message and returns the file's path. With <paramref name="messageId"/> and <paramref name="createdAt"/>
    /// (the outbox's <see cref="SendIdentityMail"/>) the file's name is fixed, and a message already written is not written again.
    /// </summary>
    public async Task<string> SendAsync(ThirdPartyId to, string kind, string subject, string body, CancellationToken ct,
        Guid? messageId = null, Instant? createdAt = null)
    {
        CreatePrivateFolder(Folder);
        var now = createdAt ?? clock.GetCurrentInstant();
        var id = (messageId ?? Guid.NewGuid()).ToString("N");
        var from = $"identity@{options.Value.EffectiveServerName}";
        var message = new StringBuilder()
            .Append("From: Matrix.Rooms identity server <").Append(from).Append(">\r\n")
            .Append("To: ").Append(to.Address).Append("\r\n")
            .Append("Subject: ").Append(subject).Append("\r\n")
            .Append("Date: ").Append(now.ToDateTimeOffset().ToString("r", CultureInfo.InvariantCulture)).Append("\r\n")
            .Append("Message-ID: <").Append(id).Append('@').Append(options.Value.EffectiveServerName).Append(">\r\n")
            .Append("X-Matrix-Rooms-Mail: ").Append(kind).Append("\r\n")
            .Append("MIME-Version: 1.0\r\n")
            .Append("Content-Type: text/plain; charset=utf-8\r\n")
            .Append("Content-Transfer-Encoding: 8bit\r\n")
            .Append("\r\n")
            .Append(body.ReplaceLineEndings("\r\n"));
        // The file name carries the time and the kind, never the address.
        var name = $"{InstantPattern.CreateWithInvariantCulture("uuuuMMdd'T'HHmmss.fff").Format(now)}-{kind}-{id[..8]}.eml";
        var path = Path.Combine(Folder, name);
        if (messageId is not null && File.Exists(path)) return path;
        var file = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) file.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        await using (var stream = new FileStream(path, file))
            await stream.WriteAsync(new UTF8Encoding(false).GetBytes(message.ToString()), ct);
        logger.LogInformation("Mail drop: {Kind} e-mail to {Recipient} written to {Path}", kind, AddressPrivacy.Obfuscate(to), path);
        return path;
    }

    /// <summary>Creates the folder <c>0700</c> on Unix, and narrows one an earlier version created wider.</summary>
    private static void CreatePrivateFolder(string folder)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(folder);
            return;
        }
        const UnixFileMode ownerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        var info = Directory.CreateDirectory(folder, ownerOnly);
        if (info.UnixFileMode != ownerOnly) File.SetUnixFileMode(folder, ownerOnly);
    }
}
