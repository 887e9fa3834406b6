//! Transmission chains (传播链): laying out cases as trees by their infectors.

use super::*;

/// One case in the transmission-chain picture: its infector (传染来源) when known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainCase {
    pub case_id: i64,
    pub infector: Option<i64>,
}

/// A case placed in the picture, in grid units (the web layer scales them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PlacedCase {
    pub case_id: i64,
    pub x: i64,
    pub y: i64,
    /// Generation in its chain (0 = the first known case).
    pub depth: i64,
    /// Index in `ChainLayout::cases` of the infector, when drawn.
    pub parent: Option<usize>,
}

/// One chain (a tree of infector → infectee links) and its bounding box.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainBox {
    pub root_case_id: i64,
    pub size: usize,
    pub depth: i64,
    pub x: i64,
    pub y: i64,
    pub width: i64,
    pub height: i64,
}

/// The whole picture: every case placed, chains boxed, largest chains first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainLayout {
    pub cases: Vec<PlacedCase>,
    pub chains: Vec<ChainBox>,
    pub width: i64,
    pub height: i64,
}

/// Lays out transmission chains (§ product.md capability 4; SORMAS's graph fails at 4,700 cases):
/// each chain a tidy tree (leaves in depth-first order, parents centred over their children,
/// generations as rows), chains packed into rows of at most `max_width` units, largest first;
/// cases without any link are packed together at the end. Linear in cases; a link to an unknown
/// case or a cycle (refused at entry, tolerated here) makes the case a root.
pub fn layout_chains(cases: &[ChainCase], max_width: i64) -> ChainLayout {
    use std::collections::HashMap;
    let index: HashMap<i64, usize> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| (c.case_id, i))
        .collect();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); cases.len()];
    let mut parent_of: Vec<Option<usize>> = vec![None; cases.len()];
    for (i, case) in cases.iter().enumerate() {
        if let Some(p) = case.infector.and_then(|id| index.get(&id).copied())
            && p != i
        {
            parent_of[i] = Some(p);
        }
    }
    // Break cycles: walk up from each case; a case that reaches itself loses its parent link.
    let mut state = vec![0u8; cases.len()]; // 0 unseen, 1 on the current path, 2 done
    for start in 0..cases.len() {
        let mut path = Vec::new();
        let mut at = start;
        loop {
            if state[at] == 2 {
                break;
            }
            if state[at] == 1 {
                parent_of[at] = None;
                break;
            }
            state[at] = 1;
            path.push(at);
            match parent_of[at] {
                Some(p) => at = p,
                None => break,
            }
        }
        for node in path {
            state[node] = 2;
        }
    }
    for (i, parent) in parent_of.iter().enumerate() {
        if let Some(p) = parent {
            children[*p].push(i);
        }
    }
    for list in &mut children {
        list.sort_by_key(|&c| cases[c].case_id);
    }
    let mut roots: Vec<usize> = (0..cases.len())
        .filter(|&i| parent_of[i].is_none())
        .collect();

    // Per tree: relative x (leaf slots), depth; collect the tree's nodes in depth-first order.
    struct Tree {
        nodes: Vec<usize>,
        rel_x: Vec<i64>,
        depth: Vec<i64>,
        width: i64,
        max_depth: i64,
    }
    let build = |root: usize| -> Tree {
        let mut nodes = Vec::new();
        let mut rel_x = Vec::new();
        let mut depth_of = Vec::new();
        let mut position: HashMap<usize, usize> = HashMap::new();
        let mut next_leaf = 0i64;
        let mut max_depth = 0;
        // Iterative post-order: (node, depth, children visited?)
        let mut stack = vec![(root, 0i64, false)];
        while let Some((node, depth, expanded)) = stack.pop() {
            if !expanded {
                stack.push((node, depth, true));
                for &child in children[node].iter().rev() {
                    stack.push((child, depth + 1, false));
                }
                continue;
            }
            // Leaves two units apart, so a parent of two neighbours sits exactly between them.
            let x = if children[node].is_empty() {
                next_leaf += 2;
                next_leaf - 2
            } else {
                let xs: Vec<i64> = children[node].iter().map(|c| rel_x[position[c]]).collect();
                (xs[0] + xs[xs.len() - 1]) / 2
            };
            position.insert(node, nodes.len());
            nodes.push(node);
            rel_x.push(x);
            depth_of.push(depth);
            max_depth = max_depth.max(depth);
        }
        Tree {
            nodes,
            rel_x,
            depth: depth_of,
            width: (next_leaf - 1).max(1),
            max_depth,
        }
    };
    let mut linked: Vec<Tree> = Vec::new();
    let mut singles: Vec<usize> = Vec::new();
    roots.sort_by_key(|&r| cases[r].case_id);
    for root in roots {
        if children[root].is_empty() {
            singles.push(root);
        } else {
            linked.push(build(root));
        }
    }
    linked.sort_by(|a, b| {
        b.nodes.len().cmp(&a.nodes.len()).then(
            cases[*a.nodes.last().unwrap_or(&0)]
                .case_id
                .cmp(&cases[*b.nodes.last().unwrap_or(&0)].case_id),
        )
    });

    let max_width = max_width.max(1);
    let mut placed: Vec<PlacedCase> = Vec::with_capacity(cases.len());
    let mut slot_of: Vec<usize> = vec![usize::MAX; cases.len()];
    let mut chains = Vec::new();
    let (mut cursor_x, mut cursor_y, mut row_height, mut total_width) = (0i64, 0i64, 0i64, 0i64);
    for tree in &linked {
        let (w, h) = (tree.width + 1, tree.max_depth + 2);
        if cursor_x > 0 && cursor_x + w > max_width {
            cursor_x = 0;
            cursor_y += row_height;
            row_height = 0;
        }
        for (k, &node) in tree.nodes.iter().enumerate() {
            slot_of[node] = placed.len();
            placed.push(PlacedCase {
                case_id: cases[node].case_id,
                x: cursor_x + tree.rel_x[k],
                y: cursor_y + tree.depth[k],
                depth: tree.depth[k],
                parent: None,
            });
        }
        chains.push(ChainBox {
            root_case_id: cases[*tree.nodes.last().expect("a tree has its root")].case_id,
            size: tree.nodes.len(),
            depth: tree.max_depth,
            x: cursor_x,
            y: cursor_y,
            width: w - 1,
            height: h - 1,
        });
        cursor_x += w;
        total_width = total_width.max(cursor_x);
        row_height = row_height.max(h);
    }
    if !singles.is_empty() {
        if cursor_x > 0 {
            cursor_y += row_height;
        }
        let per_row = max_width.max(1);
        for (k, &node) in singles.iter().enumerate() {
            let k = k as i64;
            slot_of[node] = placed.len();
            placed.push(PlacedCase {
                case_id: cases[node].case_id,
                x: k % per_row,
                y: cursor_y + k / per_row,
                depth: 0,
                parent: None,
            });
        }
        total_width = total_width.max((singles.len() as i64).min(per_row));
        cursor_y += (singles.len() as i64 + per_row - 1) / per_row;
        row_height = 0;
    }
    for (node, parent) in parent_of.iter().enumerate() {
        if let Some(p) = parent {
            let slot = slot_of[node];
            placed[slot].parent = Some(slot_of[*p]);
        }
    }
    ChainLayout {
        cases: placed,
        chains,
        width: total_width,
        height: cursor_y + row_height,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_are_laid_out_as_trees_with_parents_above_and_centred_over_their_children() {
        let cases = [
            ChainCase {
                case_id: 1,
                infector: None,
            },
            ChainCase {
                case_id: 2,
                infector: Some(1),
            },
            ChainCase {
                case_id: 3,
                infector: Some(1),
            },
            ChainCase {
                case_id: 4,
                infector: Some(3),
            },
            ChainCase {
                case_id: 5,
                infector: None,
            },
            ChainCase {
                case_id: 6,
                infector: Some(99),
            },
        ];
        let layout = layout_chains(&cases, 100);
        assert_eq!(layout.cases.len(), 6);
        assert_eq!(layout.chains.len(), 1);
        assert_eq!(layout.chains[0].size, 4);
        let at = |id: i64| *layout.cases.iter().find(|c| c.case_id == id).unwrap();
        assert_eq!(at(1).y, 0);
        assert_eq!(at(4).depth, 2);
        assert!(at(1).x > at(2).x && at(1).x <= at(3).x);
        assert_eq!(layout.cases[at(4).parent.unwrap()].case_id, 3);
        assert!(
            at(5).y > at(4).y && at(6).y == at(5).y,
            "singles are packed below the chains"
        );
    }

    #[test]
    fn a_cycle_of_infector_links_does_not_hang_the_layout() {
        let cases = [
            ChainCase {
                case_id: 1,
                infector: Some(3),
            },
            ChainCase {
                case_id: 2,
                infector: Some(1),
            },
            ChainCase {
                case_id: 3,
                infector: Some(2),
            },
        ];
        let layout = layout_chains(&cases, 10);
        assert_eq!(layout.cases.len(), 3);
        assert_eq!(
            layout.cases.iter().filter(|c| c.parent.is_none()).count(),
            1
        );
    }
}
