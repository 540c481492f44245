using Mono.Cecil;
using Mono.Cecil.Cil;
using Weaving.Fody.Plan;

namespace Weaving.Fody.Analysis;

/// <summary>
/// Which groups can keep checkpoints (docs/design.md §6): a group that owns state gets one when everything it holds, its
/// owned fields and what the source sets up for it, can be written with the message codec. Otherwise the build warns
/// (WEAV029), naming the field and why, and the group runs without checkpoints: its state lives and dies with its host.
/// </summary>
public static class CheckpointPlanner
{
    public static void Plan(WeavingPlan plan, TypeRules types)
    {
        foreach (var group in plan.Groups.Where(g => g.OwnsState))
        {
            var fields = group.OwnedFields.Concat(group.Seeded).Distinct().ToList();
            // The object instance handlers run on is written as its fields (docs/design.md §1.3), as seeds and results are.
            var blocker = fields.Select(f => (Field: f, Why: f.ObjectState is { } objectFields
                    ? objectFields.Select(o => types.WhyNotTransferable(o.FieldType)).FirstOrDefault(w => w is not null)
                    : types.WhyNotTransferable(f.Field.FieldType)))
                .FirstOrDefault(b => b.Why is not null);
            // An owned field that stays static (WEAV030) is state the snapshot cannot reach.
            var unmoved = plan.Fields.FirstOrDefault(f => f.Group == group && !f.Moves && f.Placement is Placement.Owned or Placement.Shared);
            var (field, why) = blocker.Why is not null ? (blocker.Field, blocker.Why)
                : unmoved is not null ? (unmoved, $"it stays a static field ({FieldMobility.WhyNotMovable(unmoved.Field) ?? "see WEAV030"})")
                : (null, null);
            if (field is null)
            {
                group.Checkpoint.AddRange(fields);
                continue;
            }
            var (method, at) = Declaration(field.Field);
            plan.Diagnostics.Add(SourceLocator.Diagnostic("WEAV029", Severity.Warning,
                $"Group {group.Name} keeps no checkpoints: its field {field.Name} cannot be written ({why}). Across processes its " +
                "state lives in its host: if that host dies, the group's state is lost, and a host keeps it from one run to the next. " +
                "Hold state that can travel (primitives, strings, collections, records of those) to let another host take over.",
                method, at));
        }
    }

    // Where the field is given its first value: its initializer in the type's static constructor, else its first use in
    // its type; the warning points there.
    static (MethodDefinition? Method, Instruction? At) Declaration(FieldDefinition field)
    {
        var methods = field.DeclaringType.Methods.Where(m => m.HasBody).OrderBy(m => m.IsConstructor && m.IsStatic ? 0 : 1);
        foreach (var method in methods)
            foreach (var instruction in method.Body.Instructions)
                if (instruction.Operand is FieldReference reference && reference.Resolve() == field)
                    return (method, instruction);
        return (null, null);
    }
}
