"""Mutation testing of a case library: wrong derivative rules it must catch (issue 7).

::

    from gradcheck_suite.mutation import mutation_score

    result = mutation_score(["cases/"])            # every primitive, VJP and JVP rules
    result.score        # caught / (mutants − equivalent)
    result.survivors    # Outcome objects: the mutant, why it survived
    result.equivalent   # mutants excluded, each with the reason
    result.table        # one row per mutant (COLUMNS)
    result.exit_code    # 0 score 100 %, 1 a survivor, 2 errors

``mutants`` builds and installs the wrong rules, ``probes`` tells equivalent mutants
from real ones, ``score`` runs the library, ``render`` writes the report and
``command`` is ``gradcheck-suite mutate``.  See docs/mutation.md.
"""
from .mutants import KINDS, RULES, Firing, Mutant, installed, mutants_of, mutated
from .score import COLUMNS, STATUSES, MutationResult, Outcome, catching_case, judge, mutation_score, passing_cases

__all__ = ["KINDS", "RULES", "COLUMNS", "STATUSES", "Firing", "Mutant", "MutationResult", "Outcome",
           "catching_case", "installed", "judge", "mutants_of", "mutated", "mutation_score", "passing_cases"]
