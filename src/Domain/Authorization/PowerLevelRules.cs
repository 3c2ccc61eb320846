namespace Matrix.Rooms.Domain.Authorization;

/// <summary>
/// Spec authorization rule "If type is m.room.power_levels: …". Reached only after the general checks passed: the
/// sender is joined, has the level m.room.power_levels requires, and the state key is not another user's.
/// </summary>
internal static class PowerLevelRules
{
    public static AuthDecision Check(AuthContext ctx, long senderLevel)
    {
        var ev = ctx.Event;
        var sender = ev.Sender;

        // Since v10: If any of the properties users_default, events_default, state_default, ban, redact, kick, or
        // invite in content are present and not an integer, reject.
        // Since v10: If either of the properties events or notifications in content are present and not an object
        // with values that are integers, reject.
        // Since v1: If the users property in content is not an object with keys that are valid user IDs with values
        // that are integers (v1–v9: or a string that is an integer), reject.
        var proposed = PowerLevels.ReadStrict(ev.Content, ctx.Version, out var failedRule, out var problem);
        if (proposed is null)
            return AuthDecision.Refuse(failedRule!, $"The new power levels are not valid in {ctx.Version}: {problem}");

        // Since v12: If the users property in content contains the sender of the m.room.create event or any of the
        // additional_creators array (if present) from the content of the m.room.create event, reject.
        if (ctx.Version.PrivilegedCreators)
            foreach (var creator in ctx.PowerLevels.PrivilegedCreators)
                if (proposed.Users.ContainsKey(creator))
                    return AuthDecision.Refuse(AuthRule.PowerLevelsUsersContainsCreator,
                        $"'users' lists {creator}, a creator of the room: in {ctx.Version} creators have an infinitely " +
                        "high power level that m.room.power_levels cannot set");

        // Since v1: If there is no previous m.room.power_levels event in the room, allow.
        if (ctx.PowerLevelsEvent is null)
            return AuthDecision.Allow(AuthRule.PowerLevelsInitial,
                $"{sender} sets the room's first power levels");

        var current = ctx.PowerLevels;

        // Since v1: For the properties users_default, events_default, state_default, ban, redact, kick, invite check
        // if they were added, changed or removed. For each found alteration:
        //   If the current value is higher than the sender's current power level, reject.
        //   If the new value is higher than the sender's current power level, reject.
        foreach (var field in Enum.GetValues<PowerLevelField>())
        {
            var before = current.Explicit(field);
            var after = proposed.Explicit(field);
            if (before == after) continue;
            var name = PowerLevels.NameOf(field);
            var beforeValue = before ?? PowerLevels.DefaultOf(field);
            var afterValue = after ?? PowerLevels.DefaultOf(field);
            if (beforeValue > senderLevel)
                return AuthDecision.Refuse(AuthRule.PowerLevelsFieldChangeTooHigh,
                    $"{sender} (power level {senderLevel}) cannot change '{name}', which is {beforeValue}: " +
                    "only users with at least that level can");
            if (afterValue > senderLevel)
                return AuthDecision.Refuse(AuthRule.PowerLevelsFieldChangeTooHigh,
                    $"{sender} (power level {senderLevel}) cannot set '{name}' to {afterValue}, above their own level");
        }

        // Since v1: For each entry being changed in, or removed from, the events property (v6+: or notifications):
        //   If the current value is greater than the sender's current power level, reject.
        // Since v1: For each entry being added to, or changed in, the events property (v6+: or notifications):
        //   If the new value is greater than the sender's current power level, reject.
        if (CheckMap(current.Events, proposed.Events, senderLevel, sender, "events",
                AuthRule.PowerLevelsEventsChangeTooHigh) is { } eventsRefusal)
            return eventsRefusal;
        if (ctx.Version.NotificationsPowerLevels
            && CheckMap(current.Notifications, proposed.Notifications, senderLevel, sender, "notifications",
                AuthRule.PowerLevelsNotificationsChangeTooHigh) is { } notificationsRefusal)
            return notificationsRefusal;

        // Since v1: For each entry being changed in, or removed from, the users property, other than the sender's
        // own entry: If the current value is greater than or equal to the sender's current power level, reject.
        // Since v1: For each entry being added to, or changed in, the users property: If the new value is greater
        // than the sender's current power level, reject.
        var usersBefore = current.Users;
        var usersAfter = proposed.Users;
        foreach (var (userId, before) in usersBefore)
        {
            var changed = !usersAfter.TryGetValue(userId, out var after) || after != before;
            if (changed && userId != sender && before >= senderLevel)
                return AuthDecision.Refuse(AuthRule.PowerLevelsUserChangeForbidden,
                    $"{sender} (power level {senderLevel}) cannot change the power level of {userId}, " +
                    $"which is {before}: only users with a higher level can");
        }
        foreach (var (userId, after) in usersAfter)
        {
            var changed = !usersBefore.TryGetValue(userId, out var before) || after != before;
            if (changed && after > senderLevel)
                return AuthDecision.Refuse(AuthRule.PowerLevelsUserLevelTooHigh,
                    $"{sender} (power level {senderLevel}) cannot give {userId} the power level {after}, " +
                    "above their own");
        }

        // Since v1: Otherwise, allow.
        return AuthDecision.Allow(AuthRule.PowerLevelsAllowed,
            $"{sender} (power level {senderLevel}) changes only levels at or below their own");
    }

    private static AuthDecision? CheckMap(IReadOnlyDictionary<string, long> before, IReadOnlyDictionary<string, long> after,
        long senderLevel, string sender, string property, string rule)
    {
        foreach (var (key, old) in before)
        {
            var changed = !after.TryGetValue(key, out var updated) || updated != old;
            if (changed && old > senderLevel)
                return AuthDecision.Refuse(rule,
                    $"{sender} (power level {senderLevel}) cannot change '{key}' in '{property}', which is {old}: " +
                    "only users with at least that level can");
        }
        foreach (var (key, updated) in after)
        {
            var changed = !before.TryGetValue(key, out var old) || updated != old;
            if (changed && updated > senderLevel)
                return AuthDecision.Refuse(rule,
                    $"{sender} (power level {senderLevel}) cannot set '{key}' in '{property}' to {updated}, " +
                    "above their own level");
        }
        return null;
    }
}
