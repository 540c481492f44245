using Mono.Cecil;
using Mono.Cecil.Cil;

namespace Weaving.Fody.Analysis;

/// <summary>
/// Where the source touches a field, relative to its posts to the stages that can reach the field (docs/design.md §3):
/// before its first post (it sets the field up), after the last post that can reach the field (it reads results), or
/// in between, where the field would change under it. Only the first two let those stages run on their own.
/// </summary>
public sealed class SourceTimeline(ModuleFacts facts, Closure closure, MethodDefinition source, Func<Instruction, bool> isCut)
{
    /// <summary>One place in the source that reads or writes the field, directly or through code it calls synchronously.</summary>
    public sealed class Touch(Instruction at, bool reads, bool writes)
    {
        public Instruction At { get; } = at;
        public bool Reads { get; } = reads;
        public bool Writes { get; } = writes;
    }

    /// <summary>What the source does with a field around its posts.</summary>
    public sealed class Verdict
    {
        /// <summary>Reads after the last post: before each, the source must wait for the posted work (and fetch its state).</summary>
        public List<Instruction> ReadsAfterPosts { get; } = [];
        /// <summary>The source writes the field before its first post: the stages must start from that value.</summary>
        public bool WritesBeforePosts { get; set; }
        /// <summary>The first touch between two posts, where the field may change under the source; null when there is none.</summary>
        public Touch? InBetween { get; set; }
        public bool Fits => InBetween is null;
    }

    readonly Dictionary<Instruction, HashSet<Instruction>> after = new();
    readonly Dictionary<FieldDefinition, List<Touch>> touchesOf = new();

    /// <param name="reaching">The stages from which a stage that touches the field can be reached.</param>
    public Verdict Of(FieldDefinition field, ISet<MethodDefinition> reaching)
    {
        var verdict = new Verdict();
        var allPosts = facts.Get(source).Calls.Where(c => isCut(c.At)).Select(c => c.At).ToList();
        var posts = facts.Get(source).Calls.Where(c => isCut(c.At) && reaching.Contains(c.Callee)).Select(c => c.At).ToList();
        foreach (var touch in TouchesOf(field))
        {
            var postedBefore = posts.Any(p => After(p).Contains(touch.At));
            var postsAfter = posts.Any(p => After(touch.At).Contains(p));
            // What the source sets up reaches a group once per run, at the source's first post that can reach the group:
            // only a write before every post is sure to be in it, whichever stages the groups end up fused with.
            var writesAfterAPost = allPosts.Any(p => After(p).Contains(touch.At));
            if (touch.Writes && writesAfterAPost || touch.Reads && postedBefore && postsAfter)
            {
                verdict.InBetween ??= touch;
                continue;
            }
            if (touch.Writes) verdict.WritesBeforePosts = true;
            if (touch.Reads && postedBefore) verdict.ReadsAfterPosts.Add(touch.At);
        }
        return verdict;
    }

    List<Touch> TouchesOf(FieldDefinition field)
    {
        if (touchesOf.TryGetValue(field, out var known)) return known;
        var list = new List<Touch>();
        foreach (var access in facts.Get(source).Accesses.Where(a => a.Field == field))
            list.Add(new Touch(access.At, !access.Write, access.Write));
        // A call the source makes synchronously touches what the code it runs touches, at the call.
        foreach (var (at, callee) in facts.Get(source).Calls)
        {
            if (isCut(at) || callee.IsConstructor && callee.IsStatic) continue;
            var (reads, writes) = closure.Footprint(closure.OfSynchronousCalls(callee, isCut));
            if (reads.Contains(field) || writes.Contains(field)) list.Add(new Touch(at, reads.Contains(field), writes.Contains(field)));
        }
        touchesOf[field] = list;
        return list;
    }

    HashSet<Instruction> After(Instruction at)
    {
        if (!after.TryGetValue(at, out var set))
            after[at] = set = new HashSet<Instruction>(ContinuationRules.After(source, at));
        return set;
    }
}
