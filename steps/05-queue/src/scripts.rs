//! The queue's Redis scripts: what must happen in one step on the server, and what must work
//! while Redis is full.
//!
//! Redis at its `maxmemory` (with `noeviction`) refuses every command that may grow its data,
//! and, inside MULTI, every command at all. Acknowledging is what frees room, so it must never
//! be refused: each script here is flagged `allow-oom`. They free at least what they add (a
//! dead letter is an entry moved, not made), except the group's making, a few bytes once.

use redis::aio::ConnectionManager;

/// Acknowledges the entries ARGV[2..] of the group ARGV[1] on the stream KEYS[1] and deletes
/// them from it: the stream holds only answers not yet stored.
pub const ACKNOWLEDGE: &str = r"#!lua flags=allow-oom
redis.call('XACK', KEYS[1], ARGV[1], unpack(ARGV, 2))
redis.call('XDEL', KEYS[1], unpack(ARGV, 2))
return 0
";

/// Moves the entry ARGV[2] of the stream KEYS[1] (group ARGV[1]) to the dead letters KEYS[2],
/// whole: ARGV[3..] are its fields and values. Returns how many dead letters there are.
pub const DEAD_LETTER: &str = r"#!lua flags=allow-oom
redis.call('XADD', KEYS[2], '*', unpack(ARGV, 3))
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return redis.call('XLEN', KEYS[2])
";

/// Makes the group ARGV[1] on the stream KEYS[1] (and the stream), reading from its start,
/// unless the group exists.
pub const ENSURE_GROUP: &str = r"#!lua flags=allow-oom
local made = redis.pcall('XGROUP', 'CREATE', KEYS[1], ARGV[1], '0', 'MKSTREAM')
if type(made) == 'table' and made.err and not string.find(made.err, 'BUSYGROUP') then
  return made
end
return 0
";

/// Forgets the consumer ARGV[2] of the group ARGV[1] on the stream KEYS[1] if it holds no
/// entry and its sign of life KEYS[2] is gone; returns 1 if it did. As one step, so that a
/// worker cannot take entries between the check and the forgetting: those would be lost to
/// every list a worker claims from.
pub const FORGET_IF_GONE: &str = r"
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
if #redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2]) > 0 then return 0 end
redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
return 1
";

/// Runs `script` with `keys` and `args`; returns its integer reply.
pub async fn run<A: redis::ToRedisArgs>(
    redis: &mut ConnectionManager,
    script: &str,
    keys: &[&str],
    args: A,
) -> redis::RedisResult<i64> {
    redis::cmd("EVAL")
        .arg(script)
        .arg(keys.len())
        .arg(keys)
        .arg(args)
        .query_async(redis)
        .await
}
